/**
 * Printing arrays the way PyTorch prints tensors: nested brackets aligned in columns,
 * one number format for the whole array, and only the first and last `edgeItems`
 * entries of each axis (with `...` between) once the array has more than `threshold`
 * elements. Used by `NDArray.toString()`, Node's `console.log` / `util.inspect`, and by
 * the autograd `Tensor`, which adds `requiresGrad` / `gradFn`.
 */
import type { DType } from './dtype.ts';

/** How to print; the defaults are PyTorch's (`torch.set_printoptions`). */
export interface FormatOptions {
  /** Entries kept at each end of a summarised axis. */
  edgeItems?: number;
  /** Arrays with more elements than this are summarised with `...`. */
  threshold?: number;
  /** Digits after the decimal point for floats. */
  precision?: number;
  /** Rows of numbers wrap at this many characters. */
  lineWidth?: number;
}

/** The part of an NDArray printing reads (a structural type, so no import cycle). */
export interface Printable {
  readonly shape: readonly number[];
  readonly dtype: DType;
  toFloat64Array(): Float64Array;
}

const DEFAULTS: Required<FormatOptions> = { edgeItems: 3, threshold: 1000, precision: 4, lineWidth: 80 };

/** An index along one axis, or null for the `...` that stands for the elided middle. */
type Shown = number | null;

function shownIndices(n: number, summarise: boolean, edge: number): Shown[] {
  const all = Array.from({ length: n }, (_, i) => i);
  if (!summarise || n <= 2 * edge) return all;
  return [...all.slice(0, edge), null, ...all.slice(n - edge)];
}

/** Every value that will be printed (the summary's corners only), to pick one format for all. */
function shownValues(flat: Float64Array, shape: readonly number[], summarise: boolean, edge: number): number[] {
  const out: number[] = [];
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const walk = (d: number, base: number) => {
    if (d === shape.length) {
      out.push(flat[base]!);
      return;
    }
    for (const i of shownIndices(shape[d]!, summarise, edge)) if (i !== null) walk(d + 1, base + i * strides[d]!);
  };
  walk(0, 0);
  return out;
}

/** Picks PyTorch's number format for the shown values: integer-valued, fixed, or scientific. */
function numberFormatter(values: readonly number[], dtype: DType, precision: number): (v: number) => string {
  if (dtype === 'bool') return (v) => (v ? 'true' : 'false');
  if (dtype === 'int32') return (v) => String(v);
  const special = (v: number) => (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf');
  const finite = values.filter(Number.isFinite);
  const nonzero = finite.map(Math.abs).filter((v) => v > 0);
  const max = nonzero.length > 0 ? Math.max(...nonzero) : 0;
  const min = nonzero.length > 0 ? Math.min(...nonzero) : 0;
  const sci = (v: number) => v.toExponential(precision).replace(/e([+-])(\d)$/, 'e$10$2');
  if (finite.every(Number.isInteger)) {
    // float values that happen to be whole print as `3.`, so the dtype still shows
    const pick = max >= 1e8 ? sci : (v: number) => `${v.toFixed(0)}.`;
    return (v) => (Number.isFinite(v) ? pick(v) : special(v));
  }
  const pick = max / min > 1e3 || max >= 1e8 || min < 1e-4 ? sci : (v: number) => v.toFixed(precision);
  return (v) => (Number.isFinite(v) ? pick(v) : special(v));
}

/**
 * The nested-bracket text of the values, for a first line that starts `indent`
 * characters in (so continuation lines line up under the first bracket).
 * @example formatValues(array([[1, 2], [3, 4]]), 0) // '[[1., 2.],\n [3., 4.]]'
 */
export function formatValues(x: Printable, indent: number, options: FormatOptions = {}): string {
  const { edgeItems, threshold, precision, lineWidth } = { ...DEFAULTS, ...options };
  const shape = x.shape;
  const size = shape.reduce((a, b) => a * b, 1);
  if (size === 0) return '[]';
  const flat = x.toFloat64Array();
  const summarise = size > threshold;
  const shown = shownValues(flat, shape, summarise, edgeItems);
  const format = numberFormatter(shown, x.dtype, precision);
  if (shape.length === 0) return format(flat[0]!);
  const cells = shown.map(format);
  const width = Math.max(...cells.map((c) => c.length));
  let next = 0; // cells are consumed in the same row-major order they were produced
  const render = (d: number, at: number): string => {
    const items = shownIndices(shape[d]!, summarise, edgeItems);
    if (d === shape.length - 1) {
      const texts = items.map((i) => (i === null ? '...' : cells[next++]!.padStart(width)));
      const perLine = Math.max(1, Math.floor((lineWidth - at - 1) / (width + 2)));
      const lines: string[] = [];
      for (let k = 0; k < texts.length; k += perLine) lines.push(texts.slice(k, k + perLine).join(', '));
      return `[${lines.join(`,\n${' '.repeat(at + 1)}`)}]`;
    }
    // blocks of higher axes are set apart by blank lines, one fewer per level, as in PyTorch
    const separator = `,${'\n'.repeat(shape.length - d - 1)}${' '.repeat(at + 1)}`;
    return `[${items.map((i) => (i === null ? '...' : render(d + 1, at + 1))).join(separator)}]`;
  };
  return render(0, indent);
}

/**
 * The full printed form: `name(values, dtype=..., shape=[...], extras...)`.
 * @example formatArray('NDArray', array([1.5, 2])) // 'NDArray([1.5000, 2.0000], dtype=float32, shape=[2])'
 */
export function formatArray(name: string, x: Printable, extras: readonly string[] = [], options: FormatOptions = {}): string {
  const values = formatValues(x, name.length + 1, options);
  return `${name}(${[values, `dtype=${x.dtype}`, `shape=[${x.shape.join(', ')}]`, ...extras].join(', ')})`;
}

/** The symbol Node's `util.inspect` (and so `console.log`) calls; a global symbol, so no Node import. */
export const inspectSymbol: unique symbol = Symbol.for('nodejs.util.inspect.custom');
