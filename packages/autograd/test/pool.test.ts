/**
 * maxPool2d, avgPool2d and adaptiveAvgPool2d: forwards against direct loops written here
 * (PyTorch's output-size, divisor and adaptive-window formulas), first and second
 * derivatives by gradcheck over drawn kernels, strides, paddings, dilations and ceil
 * mode, the tie rule of max pooling, agreement with PyTorch, and the errors.
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as nd from '@tsgrad/tensor';
import { adaptiveAvgPool2d, avgPool2d, gradcheck, gradgradcheck, maxPool2d, Tensor, type Pool2dOptions } from '../src/index.ts';
import { distinctValuesArb, f64, params, valuesArb, viewedArb, viewedFromViewValues, layoutArb } from './arbitraries.ts';
import { cpuBackends, deviation, loadTorchFixture, tensorOf, type TorchCase } from './fixtures/torch-fixture.ts';

type P2 = [number, number];

interface PoolCase {
  shape: [number, number, number, number];
  kernel: P2;
  stride: P2;
  padding: P2;
  dilation: P2;
  ceil: boolean;
  includePad: boolean;
  opts: Pool2dOptions;
}

const side = (max: number) => fc.noBias(fc.integer({ min: 1, max }));
const pairArb = (max: number): fc.Arbitrary<P2> => fc.tuple(side(max), side(max));

/**
 * Pooling geometries within PyTorch's limits (padding at most half the kernel), never
 * empty. A dilated window can miss the input altogether (PyTorch then returns -inf and
 * a meaningless index); such geometries are left out.
 */
function poolArb(withDilation: boolean): fc.Arbitrary<PoolCase> {
  return fc
    .record({
      n: side(2),
      c: side(2),
      kernel: pairArb(3),
      stride: fc.option(pairArb(3)),
      padFrac: fc.tuple(fc.nat(1), fc.nat(1)),
      dilation: withDilation ? pairArb(2) : fc.constant<P2>([1, 1]),
      extra: fc.tuple(fc.nat(3), fc.nat(3)),
      ceil: fc.boolean(),
      includePad: fc.boolean(),
    })
    .map((r) => {
      const padding = r.kernel.map((k, a) => r.padFrac[a]! * Math.floor(k / 2)) as P2;
      const size = (a: 0 | 1) => Math.max(1, r.dilation[a] * (r.kernel[a] - 1) + 1 - 2 * padding[a]) + r.extra[a];
      const stride = r.stride ?? r.kernel;
      const opts: Pool2dOptions = { kernelSize: r.kernel, stride: r.stride, padding, ceilMode: r.ceil };
      if (withDilation) opts.dilation = r.dilation;
      else opts.countIncludePad = r.includePad;
      return { shape: [r.n, r.c, size(0), size(1)], kernel: r.kernel, stride, padding, dilation: r.dilation, ceil: r.ceil, includePad: r.includePad, opts } as PoolCase;
    })
    .filter((pc) => naivePool(new Float64Array(sizeOf4(pc.shape)), pc, 'max').argmax.every((p) => p >= 0));
}

/** PyTorch's output length (pooling_output_shape). */
function outLength(size: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const span = size + 2 * p - d * (k - 1) - 1;
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (o - 1) * s >= size + p) o--;
  return o;
}

/**
 * Direct pooling loops: for each window, the first maximum (and its flat input index), or
 * the sum over input elements divided by PyTorch's divisor.
 */
function naivePool(x: Float64Array, pc: PoolCase, kind: 'max' | 'avg'): { out: number[]; argmax: number[]; shape: number[] } {
  const [n, c, h, w] = pc.shape;
  const oh = outLength(h, pc.kernel[0], pc.stride[0], pc.padding[0], pc.dilation[0], pc.ceil);
  const ow = outLength(w, pc.kernel[1], pc.stride[1], pc.padding[1], pc.dilation[1], pc.ceil);
  const out: number[] = [];
  const argmax: number[] = [];
  for (let plane = 0; plane < n * c; plane++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        const y0 = i * pc.stride[0] - pc.padding[0];
        const x0 = j * pc.stride[1] - pc.padding[1];
        let best = -Infinity;
        let at = -1;
        let sum = 0;
        let inside = 0;
        for (let ki = 0; ki < pc.kernel[0]; ki++)
          for (let kj = 0; kj < pc.kernel[1]; kj++) {
            const y = y0 + ki * pc.dilation[0];
            const xx = x0 + kj * pc.dilation[1];
            if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
            const p = (plane * h + y) * w + xx;
            if (x[p]! > best) [best, at] = [x[p]!, p];
            sum += x[p]!;
            inside++;
          }
        if (kind === 'max') {
          out.push(best);
          argmax.push(at);
        } else {
          const hEnd = Math.min(y0 + pc.kernel[0], h + pc.padding[0]);
          const wEnd = Math.min(x0 + pc.kernel[1], w + pc.padding[1]);
          out.push(sum / (pc.includePad ? (hEnd - y0) * (wEnd - x0) : inside));
        }
      }
  return { out, argmax, shape: [n, c, oh, ow] };
}

function expectClose(got: Tensor, want: number[], shape: number[], tol: number, what: string): void {
  assert.equal(got.shape, shape, `${what}: shape`);
  const v = got.data.toFloat64Array();
  want.forEach((r, i) => {
    if (!(Math.abs(v[i]! - r) <= tol)) assert.unreachable(`${what}: element ${i} is ${v[i]}, expected ${r}`);
  });
}

const sizeOf4 = (s: readonly number[]) => s[0]! * s[1]! * s[2]! * s[3]!;

test('maxPool2d equals direct loops; its gradient lands on each window\'s maximum', () => {
  const arb = poolArb(true).chain((pc) => fc.tuple(fc.constant(pc), distinctValuesArb(sizeOf4(pc.shape)), fc.constantFrom('float64' as const, 'float32' as const)));
  fc.assert(
    fc.property(arb, ([pc, values, dtype]) => {
      const x = new Tensor(nd.NDArray.fromTyped(Float64Array.from(values), pc.shape).astype(dtype), true);
      const ref = naivePool(x.data.toFloat64Array(), pc, 'max');
      const y = maxPool2d(x, pc.opts);
      expectClose(y, ref.out, ref.shape, 0, 'maxPool2d');
      y.sum().backward();
      const counts = new Array<number>(x.size).fill(0);
      ref.argmax.forEach((p) => counts[p]!++);
      expectClose(x.grad!, counts, pc.shape, 0, 'maxPool2d gradient');
    }),
    params(80),
  );
});

test('maxPool2d: a tied window sends its whole gradient to the first maximum (as PyTorch on the CPU)', () => {
  const x = f64([1, 5, 5, 2, 5, 0, 3, 3, 3], [1, 1, 3, 3]);
  const y = maxPool2d(x, { kernelSize: 2, stride: 1 });
  assert.equal(y.toArray(), [[[[5, 5], [5, 5]]]]);
  y.sum().backward();
  assert.equal(x.grad!.toArray(), [[[[0, 2, 0], [0, 2, 0], [0, 0, 0]]]]); // PyTorch 1.13 gives the same
  x.grad = null;
  maxPool2d(x, { kernelSize: [1, 3] }).sum().backward();
  assert.equal(x.grad!.toArray(), [[[[0, 1, 0], [0, 1, 0], [1, 0, 0]]]]);
});

test('avgPool2d equals direct loops with PyTorch\'s divisor (countIncludePad, ceilMode)', () => {
  const arb = poolArb(false).chain((pc) => fc.tuple(fc.constant(pc), valuesArb(sizeOf4(pc.shape)), fc.constantFrom('float64' as const, 'float32' as const)));
  fc.assert(
    fc.property(arb, ([pc, values, dtype]) => {
      const x = new Tensor(nd.NDArray.fromTyped(Float64Array.from(values), pc.shape).astype(dtype));
      const ref = naivePool(x.data.toFloat64Array(), pc, 'avg');
      expectClose(avgPool2d(x, pc.opts), ref.out, ref.shape, dtype === 'float64' ? 1e-14 : 1e-6, 'avgPool2d');
    }),
    params(80),
  );
});

test('adaptiveAvgPool2d equals direct loops over PyTorch\'s windows [floor(i H / OH), ceil((i + 1) H / OH))', () => {
  const arb = fc
    .record({ n: side(2), c: side(2), h: side(7), w: side(7), oh: side(8), ow: side(8) })
    .chain((r) => fc.tuple(fc.constant(r), valuesArb(r.n * r.c * r.h * r.w)));
  fc.assert(
    fc.property(arb, ([{ n, c, h, w, oh, ow }, values]) => {
      const x = f64(values, [n, c, h, w], false);
      const want: number[] = [];
      for (let plane = 0; plane < n * c; plane++)
        for (let i = 0; i < oh; i++)
          for (let j = 0; j < ow; j++) {
            const [y0, y1] = [Math.floor((i * h) / oh), Math.ceil(((i + 1) * h) / oh)];
            const [x0, x1] = [Math.floor((j * w) / ow), Math.ceil(((j + 1) * w) / ow)];
            let s = 0;
            for (let y = y0; y < y1; y++) for (let xx = x0; xx < x1; xx++) s += values[(plane * h + y) * w + xx]!;
            want.push(s / ((y1 - y0) * (x1 - x0)));
          }
      expectClose(adaptiveAvgPool2d(x, [oh, ow]), want, [n, c, oh, ow], 1e-14, 'adaptiveAvgPool2d');
    }),
    params(60),
  );
});

test('gradcheck and gradgradcheck: maxPool2d (distinct values) and avgPool2d over drawn geometries, strided inputs', () => {
  const maxArb = poolArb(true).chain((pc) => fc.tuple(fc.constant(pc), distinctValuesArb(sizeOf4(pc.shape)), layoutArb));
  fc.assert(
    fc.property(maxArb, ([pc, values, layout]) => {
      const v = viewedFromViewValues(pc.shape, values, layout);
      return gradcheck((x) => maxPool2d(v.view(x!), pc.opts), [v.leaf], { secondOrder: true });
    }),
    params(25),
  );
  const avgArb = poolArb(false).chain((pc) => fc.tuple(fc.constant(pc), viewedArb(pc.shape)));
  fc.assert(
    fc.property(avgArb, ([pc, v]) => gradcheck((x) => avgPool2d(v.view(x!), pc.opts), [v.leaf], { secondOrder: true })),
    params(25),
  );
});

test('gradcheck and gradgradcheck: adaptiveAvgPool2d, including output larger than the input', () => {
  const arb = fc.record({ h: side(5), w: side(5), oh: side(6), ow: side(6) }).chain((r) => fc.tuple(fc.constant(r), viewedArb([2, 2, r.h, r.w])));
  fc.assert(
    fc.property(arb, ([{ oh, ow }, v]) => gradgradcheck((x) => adaptiveAvgPool2d(v.view(x!), [oh, ow]).mul(v.view(x!).sum()), [v.leaf])),
    params(20),
  );
});

test('pools accept 3-D (unbatched) input; adaptiveAvgPool2d keeps an axis given as null', () => {
  const x = f64(Array.from({ length: 2 * 5 * 6 }, (_, i) => Math.sin(i)), [2, 5, 6]);
  const cases: [string, (t: Tensor) => Tensor][] = [
    ['max', (t) => maxPool2d(t, { kernelSize: 3, stride: 2, padding: 1, ceilMode: true })],
    ['avg', (t) => avgPool2d(t, { kernelSize: 2, countIncludePad: false, padding: 1 })],
    ['adaptive', (t) => adaptiveAvgPool2d(t, [3, null])],
  ];
  for (const [name, f] of cases) {
    const single = f(x);
    assert.equal(single.toArray(), f(x.unsqueeze(0)).squeeze(0).toArray(), name);
    assert.ok(gradcheck((t) => f(t!), [x]), name);
  }
  assert.equal(adaptiveAvgPool2d(x, [3, null]).shape, [2, 3, 6]);
});

test('pools agree with PyTorch to 1e-8 in float64 on every CPU backend (values and gradients; committed fixture)', () => {
  const fixture = loadTorchFixture();
  const run = (name: string, cases: TorchCase[], f: (x: Tensor, c: TorchCase) => Tensor) => {
    assert.ok(cases.length >= 4, name);
    for (const backend of cpuBackends()) {
      for (const c of cases) {
        const d = nd.withBackend(backend, () => deviation(c, [tensorOf(c.input, true)], (x) => f(x!, c)));
        assert.ok(Math.max(d.output, ...d.grads) <= 1e-8, `${backend}: ${name} ${JSON.stringify(c.options ?? c.outputSize)}: output off by ${d.output}, gradient by ${d.grads[0]}`);
      }
    }
  };
  run('maxPool2d', fixture.maxPool2d, (x, c) => maxPool2d(x, c.options as Pool2dOptions));
  run('avgPool2d', fixture.avgPool2d, (x, c) => avgPool2d(x, c.options as Pool2dOptions));
  run('adaptiveAvgPool2d', fixture.adaptiveAvgPool2d, (x, c) => adaptiveAvgPool2d(x, c.outputSize as number | [number | null, number | null]));
});

test('pools: errors name the op, the shapes and the option', () => {
  const x = new Tensor(nd.ones([1, 2, 4, 4]));
  assert.throws(() => maxPool2d(x, { kernelSize: 2, padding: 2 }), /maxPool2d: padding \[2, 2\] must be at most half the kernel size \[2, 2\]/);
  assert.throws(() => maxPool2d(x, { kernelSize: 5 }), /maxPool2d: kernel \[5, 5\] is larger than input \[1, 2, 4, 4\]/);
  assert.throws(() => maxPool2d(x, { kernelSize: 0 }), /maxPool2d: kernelSize must be an integer >= 1/);
  assert.throws(() => avgPool2d(x, { kernelSize: 2, dilation: 2 }), /avgPool2d: dilation is not supported/);
  assert.throws(() => avgPool2d(new Tensor(nd.ones([4, 4])), { kernelSize: 2 }), /avgPool2d: expected a 4-D \[N, C, H, W\] or 3-D \[C, H, W\] input, got shape \[4, 4\]/);
  assert.throws(() => adaptiveAvgPool2d(x, 0), /adaptiveAvgPool2d: outputSize must be an integer >= 1/);
  assert.throws(() => maxPool2d(new Tensor(nd.ones([1, 1, 2, 2], 'int32')), { kernelSize: 2 }), /maxPool2d: expected a float tensor, got int32/);
});

test.run();
