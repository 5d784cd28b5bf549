/**
 * The conformance suite's part for the sliding-window ops `im2col` and `col2im`
 * (ops/conv.ts): a backend with its own window kernels (`Backend.im2col` / `col2im`)
 * must give what the reference backend's composition of `assign` and `binary` gives, for
 * random windows (kernel, stride, dilation, asymmetric padding), inputs seen through
 * random layouts, float32 and float64 with NaN and infinities (and now and then int32 or
 * bool), and the pad values pooling uses. Windows that do not fit must fail with the
 * reference's message.
 */
import fc from 'fast-check';
import { test } from 'uvu';
import type { Backend } from '../src/backend.ts';
import * as nd from '../src/index.ts';
import { viewArb } from './arbitraries.ts';
import { fillFor, sameOutcome } from './conformance-support.ts';

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
}
