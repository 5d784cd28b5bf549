/** Dense linear algebra: QR, SVD, symmetric eigendecomposition, randomized SVD (float64), and a float32 randomized SVD through the Gram matrix. */
export { qr, type QrOptions } from './qr.ts';
export { svd, type SvdOptions } from './svd.ts';
export { eigh, type EighOptions } from './eigh.ts';
export { svdLowRank, type SvdLowRankOptions } from './lowrank.ts';
export { matmulF64, transposeF64, identityF64 } from './dense.ts';
export { svdLowRankGram, type SvdLowRankGramOptions, type SvdLowRankGramResult } from './gram-lowrank.ts';
