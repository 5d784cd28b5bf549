/**
 * Derivative rules at their special points, against the values PyTorch's autograd
 * returns there (torch 2.x, float64). Finite differences cannot check these points
 * (kinks, poles, 0 * inf), so each is a row in a table: op, input, expected gradient.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cat, tensor, type Tensor } from '../src/index.ts';

interface Row {
  /** What the row checks, e.g. `pow(x, 0) at x = 0`. */
  what: string;
  /** The inputs, each a float64 scalar that requires a gradient. */
  at: number[];
  /** The function of those inputs (its output is summed before backward). */
  f: (...xs: Tensor[]) => Tensor;
  /** d f / d input_i as PyTorch gives it (NaN, +-Infinity allowed). */
  grad: number[];
}

const rows: Row[] = [
  // pow with a constant exponent: b a^(b-1), and 0 whenever b = 0
  { what: 'pow(x, 0) at x = 0', at: [0], f: (x) => x.pow(0), grad: [0] },
  { what: 'pow(x, 0) at x = -2', at: [-2], f: (x) => x.pow(0), grad: [0] },
  { what: 'pow(x, 1) at x = 0', at: [0], f: (x) => x.pow(1), grad: [1] },
  { what: 'pow(x, 2) at x = 0', at: [0], f: (x) => x.pow(2), grad: [0] },
  { what: 'pow(x, 2) at x = -3', at: [-3], f: (x) => x.pow(2), grad: [-6] },
  { what: 'pow(x, 3) at x = -2', at: [-2], f: (x) => x.pow(3), grad: [12] },
  { what: 'pow(x, -1) at x = 0', at: [0], f: (x) => x.pow(-1), grad: [-Infinity] },
  { what: 'pow(x, -2) at x = -1', at: [-1], f: (x) => x.pow(-2), grad: [2] },
  { what: 'pow(x, 0.5) at x = 0', at: [0], f: (x) => x.pow(0.5), grad: [Infinity] },
  { what: 'pow(x, 0.5) at x = -1', at: [-1], f: (x) => x.pow(0.5), grad: [NaN] },
  // pow with a tensor exponent: d/db = a^b log a, 0 where a = 0 and b >= 0
  { what: 'pow(x, y) at (0, 0)', at: [0, 0], f: (x, y) => x.pow(y), grad: [0, 0] },
  { what: 'pow(x, y) at (0, 2)', at: [0, 2], f: (x, y) => x.pow(y), grad: [0, 0] },
  { what: 'pow(x, y) at (0, -1)', at: [0, -1], f: (x, y) => x.pow(y), grad: [-Infinity, -Infinity] },
  { what: 'pow(x, y) at (-2, 2)', at: [-2, 2], f: (x, y) => x.pow(y), grad: [-4, NaN] },
  { what: 'pow(x, y) at (2, 3)', at: [2, 3], f: (x, y) => x.pow(y), grad: [12, 8 * Math.log(2)] },
  // sqrt and log at 0: the pole
  { what: 'sqrt at 0', at: [0], f: (x) => x.sqrt(), grad: [Infinity] },
  { what: 'sqrt at -1', at: [-1], f: (x) => x.sqrt(), grad: [NaN] },
  { what: 'log at 0', at: [0], f: (x) => x.log(), grad: [Infinity] },
  { what: 'log at -1', at: [-1], f: (x) => x.log(), grad: [-1] },
  // kinks: the subgradient PyTorch picks
  { what: 'abs at 0', at: [0], f: (x) => x.abs(), grad: [0] },
  { what: 'abs at -0.5', at: [-0.5], f: (x) => x.abs(), grad: [-1] },
  { what: 'relu at 0', at: [0], f: (x) => x.relu(), grad: [0] },
  { what: 'sign at 0', at: [0], f: (x) => x.sign(), grad: [0] },
  { what: 'square at 0', at: [0], f: (x) => x.square(), grad: [0] },
  // division by zero follows IEEE
  { what: 'div(x, y) at (1, 0)', at: [1, 0], f: (x, y) => x.div(y), grad: [Infinity, -Infinity] },
  { what: 'div(x, y) at (0, 0)', at: [0, 0], f: (x, y) => x.div(y), grad: [Infinity, NaN] },
  { what: 'div(x, y) at (-1, 0)', at: [-1, 0], f: (x, y) => x.div(y), grad: [Infinity, Infinity] },
  // (a/b)/b, not a/b^2: b^2 would overflow here and give 0
  { what: 'div(x, y) at (1e300, 1e160)', at: [1e300, 1e160], f: (x, y) => x.div(y), grad: [1e-160, -((1e300 / 1e160) / 1e160)] },
  // ties split the gradient evenly (torch.maximum / torch.amax)
  { what: 'maximum tie at (1, 1)', at: [1, 1], f: (x, y) => x.maximum(y), grad: [0.5, 0.5] },
  { what: 'minimum tie at (1, 1)', at: [1, 1], f: (x, y) => x.minimum(y), grad: [0.5, 0.5] },
  { what: 'max over a three-way tie', at: [2, 2, 2], f: (a, b, c) => stack3(a, b, c).max(), grad: [1 / 3, 1 / 3, 1 / 3] },
  { what: 'min over a two-way tie', at: [1, 3, 1], f: (a, b, c) => stack3(a, b, c).min(), grad: [0.5, 0, 0.5] },
];

function stack3(a: Tensor, b: Tensor, c: Tensor): Tensor {
  return cat([a.reshape([1]), b.reshape([1]), c.reshape([1])]);
}

const same = (got: number, want: number) => (Number.isNaN(want) ? Number.isNaN(got) : got === want || Math.abs(got - want) <= 1e-12 * Math.abs(want));

test('every derivative rule at its special points gives what PyTorch gives', () => {
  const wrong: string[] = [];
  for (const row of rows) {
    const xs = row.at.map((v) => tensor(v, { dtype: 'float64', requiresGrad: true }));
    row.f(...xs).sum().backward();
    const got = xs.map((x) => (x.grad ? x.grad.item() : 0));
    if (!got.every((g, i) => same(g, row.grad[i]!))) wrong.push(`${row.what}: got [${got.join(', ')}], PyTorch gives [${row.grad.join(', ')}]`);
  }
  assert.equal(wrong, []);
});

test('x.pow(0) has gradient 0 at every point of a tensor', () => {
  const x = tensor([0, -1, 2.5], { dtype: 'float64', requiresGrad: true });
  x.pow(0).sum().backward();
  assert.equal(x.grad!.toArray(), [0, 0, 0]);
});

test.run();
