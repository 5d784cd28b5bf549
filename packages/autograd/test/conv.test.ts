/**
 * conv2d: the forward against a direct seven-loop convolution written here, first and
 * second derivatives by gradcheck over drawn geometries (strides, paddings including
 * 'same' and 'valid', dilations, groups, bias, strided inputs), im2col/col2im adjointness,
 * agreement with PyTorch (committed fixture), and the errors.
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as nd from '@tsgrad/tensor';
import { cat, conv2d, enableGrad, gradcheck, gradgradcheck, gradients, noGrad, Tensor, type Conv2dOptions } from '../src/index.ts';
import { f64, params, sizeOf, valuesArb, viewedArb } from './arbitraries.ts';
import { cpuBackends, deviation, loadTorchFixture, tensorOf, type Stored, type TorchCase } from './fixtures/torch-fixture.ts';

type P2 = [number, number];

/** A drawn conv2d call: shapes and options, with input and output sizes that fit. */
interface Geometry {
  n: number;
  c: number;
  h: number;
  w: number;
  cout: number;
  kernel: P2;
  opts: Required<Omit<Conv2dOptions, 'stride' | 'dilation'>> & { stride: P2; dilation: P2 };
  bias: boolean;
}

const side = (max: number) => fc.noBias(fc.integer({ min: 1, max }));
const pairArb = (max: number): fc.Arbitrary<P2> => fc.tuple(side(max), side(max));

/** Geometries small enough for finite differences; sizes chosen so the output is never empty. */
function geometryArb(maxBatch = 2): fc.Arbitrary<Geometry> {
  return fc
    .record({
      n: side(maxBatch),
      groups: side(3),
      cg: side(2),
      cog: side(2),
      kernel: pairArb(3),
      dilation: pairArb(2),
      stride: pairArb(3),
      padding: fc.oneof(fc.constant('same' as const), fc.constant('valid' as const), fc.noBias(fc.integer({ min: 0, max: 2 })), fc.tuple(fc.nat(2), fc.nat(2))),
      extra: pairArb(3),
      bias: fc.boolean(),
    })
    .map((r) => {
      const stride: P2 = r.padding === 'same' ? [1, 1] : r.stride;
      const pad = padAmounts(r.padding, r.kernel, r.dilation);
      // the smallest input that fits one window, plus 0..2 more rows and columns
      const size = (a: 0 | 1) => Math.max(1, r.dilation[a] * (r.kernel[a] - 1) + 1 - pad[2 * a]! - pad[2 * a + 1]!) + r.extra[a] - 1;
      return {
        n: r.n,
        c: r.groups * r.cg,
        h: size(0),
        w: size(1),
        cout: r.groups * r.cog,
        kernel: r.kernel,
        opts: { stride, padding: r.padding, dilation: r.dilation, groups: r.groups },
        bias: r.bias,
      };
    });
}

/** [top, bottom, left, right] as PyTorch documents them ('same': the odd extra goes last). */
function padAmounts(padding: Conv2dOptions['padding'], kernel: P2, dilation: P2): number[] {
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding === 'same') {
    const t = kernel.map((k, a) => dilation[a]! * (k - 1));
    return [Math.floor(t[0]! / 2), Math.ceil(t[0]! / 2), Math.floor(t[1]! / 2), Math.ceil(t[1]! / 2)];
  }
  const [ph, pw] = typeof padding === 'number' ? [padding, padding] : padding!;
  return [ph, ph, pw, pw];
}

/** The definition, one multiply-add at a time: seven loops over n, co, oh, ow, ci, kh, kw. */
function naiveConv(x: Float64Array, wt: Float64Array, b: Float64Array | null, g: Geometry): { out: Float64Array; shape: number[] } {
  const { n, c, h, w, cout, kernel } = g;
  const [sh, sw] = g.opts.stride;
  const [dh, dw] = g.opts.dilation;
  const groups = g.opts.groups;
  const [pt, pb, pl, pr] = padAmounts(g.opts.padding, kernel, g.opts.dilation) as [number, number, number, number];
  const oh = Math.floor((h + pt + pb - dh * (kernel[0]! - 1) - 1) / sh) + 1;
  const ow = Math.floor((w + pl + pr - dw * (kernel[1]! - 1) - 1) / sw) + 1;
  const cg = c / groups;
  const cog = cout / groups;
  const out = new Float64Array(n * cout * oh * ow);
  for (let ni = 0; ni < n; ni++)
    for (let co = 0; co < cout; co++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          let s = b ? b[co]! : 0;
          const grp = Math.floor(co / cog);
          for (let ci = 0; ci < cg; ci++)
            for (let ki = 0; ki < kernel[0]; ki++)
              for (let kj = 0; kj < kernel[1]; kj++) {
                const y = i * sh + ki * dh - pt;
                const xx = j * sw + kj * dw - pl;
                if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
                s += x[((ni * c + grp * cg + ci) * h + y) * w + xx]! * wt[((co * cg + ci) * kernel[0] + ki) * kernel[1] + kj]!;
              }
          out[((ni * cout + co) * oh + i) * ow + j] = s;
        }
  return { out, shape: [n, cout, oh, ow] };
}

/** A geometry with its input (maybe a strided view), weight and bias values. */
const caseArb = geometryArb().chain((g) =>
  fc.tuple(
    fc.constant(g),
    viewedArb([g.n, g.c, g.h, g.w]),
    viewedArb([g.cout, g.c / g.opts.groups, ...g.kernel], (n) => valuesArb(n, -1, 1)),
    valuesArb(g.cout),
  ),
);

function weightOf(g: Geometry, values: number[]): Tensor {
  return f64(values, [g.cout, g.c / g.opts.groups, ...g.kernel]);
}

test('conv2d equals the direct seven-loop convolution (float64 and float32, strided inputs and weights)', () => {
  fc.assert(
    fc.property(caseArb, fc.constantFrom('float64' as const, 'float32' as const), ([g, xv, wv, bv], dtype) => {
      const x = new Tensor(xv.view(xv.leaf).data.astype(dtype));
      const w = new Tensor(wv.view(wv.leaf).data.astype(dtype));
      const b = g.bias ? new Tensor(f64(bv, [g.cout]).data.astype(dtype)) : null;
      const got = conv2d(x, w, b, g.opts);
      const ref = naiveConv(x.data.toFloat64Array(), w.data.toFloat64Array(), b ? b.data.toFloat64Array() : null, g);
      assert.equal(got.shape, ref.shape);
      assert.is(got.dtype, dtype);
      const tol = dtype === 'float64' ? 1e-12 : 1e-5;
      const v = got.data.toFloat64Array();
      ref.out.forEach((r, i) => {
        if (!(Math.abs(v[i]! - r) <= tol)) assert.unreachable(`element ${i}: ${v[i]} vs ${r}`);
      });
    }),
    params(80),
  );
});

test('gradcheck: conv2d over strides, paddings, dilations, groups and bias (strided inputs and weights)', () => {
  fc.assert(
    fc.property(caseArb, ([g, xv, wv, bv]) => {
      const b = g.bias ? f64(bv, [g.cout]) : null;
      return gradcheck((x, wt, bb) => conv2d(xv.view(x!), wv.view(wt!), bb ?? null, g.opts), [xv.leaf, wv.leaf, ...(b ? [b] : [])]);
    }),
    params(30),
  );
});

test('gradgradcheck: conv2d second derivatives (input, weight and bias together)', () => {
  const small = geometryArb(1).chain((g) => fc.tuple(fc.constant(g), viewedArb([g.n, g.c, g.h, g.w]), valuesArb(g.cout * (g.c / g.opts.groups) * g.kernel[0] * g.kernel[1], -1, 1)));
  fc.assert(
    fc.property(small, ([g, xv, wv]) => {
      const b = g.bias ? f64(Array.from({ length: g.cout }, (_, i) => 0.1 * i), [g.cout]) : null;
      return gradgradcheck((x, wt, bb) => conv2d(xv.view(x!), wt!, bb ?? null, g.opts), [xv.leaf, weightOf(g, wv), ...(b ? [b] : [])], { atol: 1e-4 });
    }),
    params(12),
  );
});

test('gradcheck: conv2d\'s recorded backward in the output gradient too (the input- and weight-gradient ops differentiated in all their operands)', () => {
  // gradgradcheck holds the output gradient constant; here it is an input, so the
  // derivatives of the two gradient ops with respect to it are checked as well
  const arb = geometryArb(1).chain((g) =>
    fc.tuple(fc.constant(g), viewedArb([g.n, g.c, g.h, g.w]), valuesArb(g.cout * (g.c / g.opts.groups) * g.kernel[0] * g.kernel[1], -1, 1)),
  );
  fc.assert(
    fc.property(arb, ([g, xv, wv]) => {
      const w = weightOf(g, wv);
      const out = noGrad(() => conv2d(xv.view(xv.leaf), w, null, g.opts));
      const dOut = f64(Array.from({ length: out.size }, (_, i) => Math.sin(1.3 * i + 0.2)), out.shape);
      const backward = (x: Tensor | undefined, wt: Tensor | undefined, go: Tensor | undefined) =>
        enableGrad(() => {
          const gs = gradients(conv2d(xv.view(x!), wt!, null, g.opts), [x!, wt!], { gradOutput: go!, createGraph: true });
          return cat(gs.map((t) => t.reshape([-1])), 0);
        });
      return gradcheck(backward, [xv.leaf, w, dOut]);
    }),
    params(12),
  );
});

test('conv2d: gradients only for the inputs that require them', () => {
  const x = f64(Array.from({ length: 2 * 2 * 4 * 4 }, (_, i) => Math.sin(i)), [2, 2, 4, 4], false);
  const w = f64(Array.from({ length: 3 * 2 * 2 * 2 }, (_, i) => Math.cos(i)), [3, 2, 2, 2]);
  const b = f64([1, 2, 3], [3], false);
  conv2d(x, w, b).sum().backward();
  assert.equal(w.grad!.shape, [3, 2, 2, 2]);
  assert.is(x.grad, null);
  assert.is(b.grad, null);
});

test('im2col and col2im are adjoint: <im2col(x), c> = <x, col2im(c)>', () => {
  const arb = geometryArb().chain((g) => {
    const pad = padAmounts(g.opts.padding, g.kernel, g.opts.dilation) as [number, number, number, number];
    const win: nd.Window2d = { kernel: g.kernel, stride: g.opts.stride, dilation: g.opts.dilation, padding: pad };
    const [oh, ow] = nd.windowOutputSize(g.h, g.w, win);
    const colsShape = [g.n, g.c, ...g.kernel, oh, ow];
    return fc.tuple(fc.constant({ g, win, colsShape }), valuesArb(g.n * g.c * g.h * g.w), valuesArb(sizeOf(colsShape)));
  });
  fc.assert(
    fc.property(arb, ([{ g, win, colsShape }, xv, cv]) => {
      const x = nd.NDArray.fromTyped(Float64Array.from(xv), [g.n, g.c, g.h, g.w]);
      const cols = nd.NDArray.fromTyped(Float64Array.from(cv), colsShape);
      const lhs = nd.sum(nd.mul(nd.im2col(x, win), cols)).item();
      const rhs = nd.sum(nd.mul(x, nd.col2im(cols, g.h, g.w, win))).item();
      assert.ok(Math.abs(lhs - rhs) <= 1e-10 * (1 + Math.abs(lhs)), `${lhs} vs ${rhs}`);
    }),
    params(60),
  );
});

test('conv2d on 3-D (unbatched) input equals the batched result without its batch axis', () => {
  const x = f64(Array.from({ length: 3 * 5 * 4 }, (_, i) => Math.sin(i)), [3, 5, 4]);
  const w = f64(Array.from({ length: 2 * 3 * 3 * 2 }, (_, i) => Math.cos(i)), [2, 3, 3, 2]);
  const single = conv2d(x, w, null, { padding: 'same', dilation: [1, 2] });
  const batched = noGrad(() => conv2d(x.unsqueeze(0), w, null, { padding: 'same', dilation: [1, 2] }));
  assert.equal(single.shape, [2, 5, 4]);
  assert.equal(single.toArray(), batched.squeeze(0).toArray());
  assert.ok(gradcheck((xx, ww) => conv2d(xx!, ww!, null, { padding: 'same', dilation: [1, 2] }), [x, w]));
});

test('conv2d agrees with PyTorch to 1e-8 in float64 on every CPU backend (values and gradients; committed fixture)', () => {
  const cases = loadTorchFixture().conv2d;
  assert.ok(cases.length >= 10);
  for (const backend of cpuBackends()) {
    for (const c of cases) {
      const opts = c.options as Conv2dOptions;
      const leaves = [tensorOf(c.input, true), tensorOf(c.weight as Stored, true), tensorOf(c.bias as Stored | null, true)];
      const d = nd.withBackend(backend, () => deviation(c as TorchCase, leaves, (x, w, b) => conv2d(x!, w!, b, opts)));
      const worst = Math.max(d.output, ...d.grads);
      assert.ok(worst <= 1e-8, `${backend}: conv2d ${JSON.stringify(opts)} on ${JSON.stringify(c.input.shape)}: output off by ${d.output}, gradients by [${d.grads.join(', ')}]`);
    }
  }
});

test('conv2d: parameters of another float type compute in the input\'s, gradients come back in their own', () => {
  const x = f64(Array.from({ length: 2 * 4 * 4 }, (_, i) => Math.sin(i)), [1, 2, 4, 4]);
  const w = new Tensor(nd.array([[[[0.5, -1], [2, 0.25]]], [[[1, 1], [-0.5, 3]]]], 'float32'), true);
  const b = new Tensor(nd.array([0.5, -1], 'float32'), true);
  const y = conv2d(x, w, b, { groups: 2 });
  assert.is(y.dtype, 'float64');
  assert.equal(y.toArray(), conv2d(x, new Tensor(w.data.astype('float64')), new Tensor(b.data.astype('float64')), { groups: 2 }).toArray());
  y.sum().backward();
  assert.is(w.grad!.dtype, 'float32');
  assert.is(b.grad!.dtype, 'float32');
  assert.is(x.grad!.dtype, 'float64');
});

test('conv2d: errors name the op, the shapes and the offending option', () => {
  const x = new Tensor(nd.ones([1, 4, 5, 5]));
  const w = new Tensor(nd.ones([6, 2, 3, 3]));
  assert.throws(() => conv2d(x, w), /conv2d: with groups=1 the input needs 2 channels .*input \[1, 4, 5, 5\], weight \[6, 2, 3, 3\]/);
  assert.throws(() => conv2d(x, w, null, { groups: 4 }), /conv2d: with groups=4 the input needs 8 channels and Cout must divide by 4/);
  assert.throws(() => conv2d(x, w, new Tensor(nd.ones([5])), { groups: 2 }), /conv2d: bias must have shape \[6\]; .*bias \[5\]/);
  assert.throws(() => conv2d(x, w, null, { groups: 2, padding: 'same', stride: 2 }), /conv2d: padding 'same' needs stride 1/);
  assert.throws(() => conv2d(x, w, null, { groups: 2, dilation: 3 }), /conv2d: the kernel .* is larger than the padded input/);
  assert.throws(() => conv2d(x, w, null, { groups: 2, stride: 0 }), /conv2d: stride must be an integer >= 1/);
  assert.throws(() => conv2d(x, w, null, { groups: 2, padding: -1 }), /conv2d: padding must be an integer >= 0/);
  assert.throws(() => conv2d(new Tensor(nd.ones([1, 4, 5, 5], 'int32')), w, null, { groups: 2 }), /conv2d: expected float tensors, got input int32, weight float32/);
  assert.throws(() => conv2d(new Tensor(nd.ones([4, 5])), w), /conv2d: expected a 4-D input/);
});

test.run();
