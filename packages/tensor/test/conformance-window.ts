/**
 * The conformance suite's part for the sliding-window ops `im2col` and `col2im`
 * (ops/conv.ts): a backend with its own window kernels (`Backend.im2col` / `col2im`)
 * must give what the reference backend's composition of `assign` and `binary` gives, for
 * random windows (kernel, stride, dilation, asymmetric padding), inputs seen through
 * random layouts, float32 and float64 with NaN and infinities (and now and then int32 or
 * bool), and the pad values pooling uses. Windows that do not fit must fail with the
 * reference's message. The same for the convolution kernels (`Backend.conv2d`,
 * `conv2dInputGrad`, `conv2dWeightGrad`) against the reference's composition of im2col,
 * matmul and col2im, with groups, within the tolerance of a float sum.
 */
import fc from 'fast-check';
import { test } from 'uvu';
import type { Backend } from '../src/backend.ts';
import * as nd from '../src/index.ts';
import { viewArb } from './arbitraries.ts';
import { absolute, assertMatches, fillFor, sameOutcome, sumTolerance } from './conformance-support.ts';

const ref = nd.referenceBackend;
const side = (max: number) => fc.integer({ min: 1, max });

/** A window: kernel 1..3, stride 1..3, dilation 1..2, padding 0..2 on each side. */
export const windowArb: fc.Arbitrary<nd.Window2d> = fc.record({
  kernel: fc.tuple(side(3), side(3)),
  stride: fc.tuple(side(3), side(3)),
  dilation: fc.tuple(side(2), side(2)),
  padding: fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)),
});

/** Mostly float32 and float64, sometimes int32 or bool (im2col and col2im are only data movement and sums). */
const dtypeArb = fc.oneof({ weight: 4, arbitrary: fc.constantFrom<nd.DType>('float32', 'float64') }, { weight: 1, arbitrary: fc.constantFrom<nd.DType>('int32', 'bool') });

/** [N, C, H, W] with N and C in 0..2 (an empty batch now and then) and H, W in 1..7. */
const inputShapeArb = fc.tuple(fc.nat(2), fc.nat(2), side(7), side(7)).map(([n, c, h, w]) => [n === 0 && c === 0 ? 1 : n, c === 0 ? 1 : c, h, w]);

/** Registers the window-op tests for one backend (`runs` scales fast-check's run count). */
export function checkWindowKernels(name: string, b: Backend, runs: (n: number) => fc.Parameters<unknown>): void {
  // A backend without its own kernels runs the reference's composition on its own
  // `assign` and `binary`, which the rest of the suite checks already.
  if (b === ref) return;
  const on = (be: Backend) => (f: () => nd.NDArray) => nd.withBackend(be === ref ? 'reference' : name, f);

  if (b.im2col) test(`${name}: im2col (its own kernel) over strided inputs, every window and pad value`, () => {
    const args = fc.tuple(dtypeArb, inputShapeArb, windowArb, fc.constantFrom(0, -Infinity, 1.5));
    fc.assert(
      fc.property(
        args.chain(([dtype, shape, win, pad]) => fc.tuple(viewArb(shape, fillFor(dtype)), fc.constant(win), fc.constant(pad))),
        ([x, win, pad]) => {
          sameOutcome(b, (be) => on(be)(() => nd.im2col(x, win, pad)), `im2col of ${x.dtype} [${x.shape}] window ${JSON.stringify(win)} pad ${pad}`);
        },
      ),
      runs(300),
    );
  });

  if (b.col2im) test(`${name}: col2im (its own kernel) of strided columns sums overlapping windows and drops the padding`, () => {
    const args = fc.tuple(dtypeArb, inputShapeArb, windowArb);
    fc.assert(
      fc.property(
        args.chain(([dtype, [n, c, h, w], win]) => {
          const [oh, ow] = nd.windowOutputSize(h!, w!, win);
          const cols = [n!, c!, win.kernel[0], win.kernel[1], Math.max(oh, 1), Math.max(ow, 1)];
          return fc.tuple(viewArb(cols, fillFor(dtype)), fc.constant([h!, w!] as const), fc.constant(win));
        }),
        ([cols, [h, w], win]) => {
          sameOutcome(b, (be) => on(be)(() => nd.col2im(cols, h, w, win)), `col2im of ${cols.dtype} [${cols.shape}] into ${h} x ${w}, window ${JSON.stringify(win)}`);
        },
      ),
      runs(300),
    );
  });

  if (b.conv2d || b.conv2dInputGrad || b.conv2dWeightGrad) {
    test(`${name}: conv2d and its input and weight gradients (its own kernels) over strided operands, groups and every window`, () => {
      fc.assert(
        fc.property(
          convCaseArb,
          ([x, w, grad, win, groups]) => {
            const size: [number, number] = [x.shape[2]!, x.shape[3]!];
            const cases: [string, (a: nd.NDArray, b: nd.NDArray, c: nd.NDArray) => nd.NDArray][] = [
              ['conv2d', (xx, ww) => nd.conv2d(xx, ww, win, groups)],
              ['conv2dInputGrad', (_xx, ww, gg) => nd.conv2dInputGrad(gg, ww, win, groups, size)],
              ['conv2dWeightGrad', (xx, _ww, gg) => nd.conv2dWeightGrad(xx, gg, win, groups)],
            ];
            for (const [op, f] of cases) {
              const got = nd.withBackend(name, () => f(x, w, grad));
              const want = nd.withBackend('reference', () => f(x, w, grad));
              const bound = nd.withBackend('reference', () => f(absolute(x), absolute(w), absolute(grad)));
              assertMatches(got, want, `${op}: ${x.dtype} input [${x.shape}], weight [${w.shape}], grad [${grad.shape}], groups ${groups}, window ${JSON.stringify(win)}`, 0, sumTolerance(bound, x.dtype));
            }
          },
        ),
        runs(150),
      );
    });
  }
}

/**
 * A convolution: input, weight and output gradient (each in a random layout, of one float
 * dtype), a window that fits the input, and the groups. Batch 0..2 (an empty one now and then).
 */
const convCaseArb = fc
  .record({
    dtype: fc.constantFrom<nd.DType>('float32', 'float64'),
    n: fc.nat(2),
    groups: side(2),
    cg: side(2),
    cog: side(2),
    // stride 1 half the time: the fast backend's input gradient takes another path there
    win: fc.oneof(windowArb, windowArb.map((w) => ({ ...w, stride: [1, 1] as const }))),
    extra: fc.tuple(fc.nat(3), fc.nat(3)),
  })
  .chain(({ dtype, n, groups, cg, cog, win, extra }) => {
    const fits = (a: 0 | 1) => Math.max(1, win.dilation[a] * (win.kernel[a] - 1) + 1 - win.padding[2 * a]! - win.padding[2 * a + 1]!) + extra[a];
    const [h, w] = [fits(0), fits(1)];
    const [oh, ow] = nd.windowOutputSize(h, w, win);
    const fill = { dtype };
    return fc.tuple(
      viewArb([n, cg * groups, h, w], fill),
      viewArb([cog * groups, cg, ...win.kernel], fill),
      viewArb([n, cog * groups, oh, ow], fill),
      fc.constant(win),
      fc.constant(groups),
    );
  });
