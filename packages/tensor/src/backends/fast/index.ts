/**
 * The `fast` backend, registered as `fast` (`js`, its name before 0.2, is kept as an
 * alias): the default, and the one tuned for speed. It computes exactly what the
 * textbook `reference` backend (../reference/) computes, with loops shaped for the
 * engine: spelled-out cases for the hot ops, fused kernels, a blocked matmul on a
 * worker pool and a WebAssembly SIMD micro-kernel. Read the reference backend first.
 *
 * Every strided operand is walked row by row with `stridedRows` (../../strided.ts):
 * it merges the axes that are contiguous in every operand and gives each row's start,
 * and the loops step through a row with a plain stride (a dense array is one row).
 * Sums accumulate in JS numbers (float64), even for float32 data.
 *
 * The files, by role:
 * - elementwise.ts: unary, binary, where, assign, cast, and GELU's fused backward;
 * - reduce.ts: sum / prod / max / min over axes, argmax / argmin;
 * - softmax.ts: the fused softmax and log-softmax;
 * - layer-norm-kernel.ts: the fused layer norm, forward and backward;
 * - matmul.ts: the matmul primitive, on matmul-kernel.ts (the blocked JS kernel),
 *   wasm/ (the float32 SIMD kernel) and matmul-pool.ts (the worker threads);
 * - indexing.ts: gather, scatterAdd, indexSelect, indexAdd;
 * - window.ts: im2col and col2im, the sliding windows of convolution and pooling;
 * - conv.ts: conv2d and its two gradients, one sample's columns at a time;
 * - attention.ts: the fused scaled dot-product attention, forward and backward, float32
 *   on attention-wasm.ts (with the SIMD kernels of wasm/attention.ts).
 * - adam-wasm.ts: the float32 Adam / AdamW step (wasm SIMD), for nn's optimizers.
 */
import type { Backend } from '../../backend.ts';
import { assign, binary, cast, geluBackward, unary, where } from './elementwise.ts';
import { gather, indexAdd, indexSelect, scatterAdd } from './indexing.ts';
import { layerNorm, layerNormBackward } from './layer-norm-kernel.ts';
import { matmul } from './matmul.ts';
import { argReduce, reduce } from './reduce.ts';
import { softmax } from './softmax.ts';
import { col2im, im2col } from './window.ts';
import { conv2d, conv2dInputGrad, conv2dWeightGrad } from './conv.ts';
import { attention, attentionBackward } from './attention.ts';
import { adamUpdateF32 } from './adam-wasm.ts';

export const fastBackend: Backend = {
  name: 'fast',
  unary,
  binary,
  where,
  reduce,
  argReduce,
  matmul,
  cast,
  assign,
  gather,
  scatterAdd,
  indexSelect,
  indexAdd,
  softmax,
  layerNorm,
  layerNormBackward,
  geluBackward,
  im2col,
  col2im,
  conv2d,
  conv2dInputGrad,
  conv2dWeightGrad,
  attention,
  attentionBackward,
  adamUpdate: adamUpdateF32,
};
