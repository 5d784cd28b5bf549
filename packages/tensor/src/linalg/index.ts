/** Float64 dense linear algebra: QR, SVD, symmetric eigendecomposition, randomized SVD. */
export { qr, type QrOptions } from './qr.ts';
export { svd, type SvdOptions } from './svd.ts';
export { eigh, type EighOptions } from './eigh.ts';
export { svdLowRank, type SvdLowRankOptions } from './lowrank.ts';
export { matmulF64, transposeF64, identityF64 } from './dense.ts';
