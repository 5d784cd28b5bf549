/**
 * SVG plots from Vega-Lite specs, rendered headlessly in Node: the spec is compiled
 * to Vega, and a Vega View with the 'none' renderer writes SVG text directly (no
 * browser, no canvas; text widths are estimated).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';

/**
 * Renders any Vega-Lite spec to an SVG string.
 * @example const svg = await renderVegaLite({ data: { values }, mark: 'point', encoding: { ... } });
 */
export async function renderVegaLite(spec: TopLevelSpec): Promise<string> {
  // Loaded lazily and natively: vega's Node build uses top-level await, which the CommonJS
  // transform the test runner (uvu -r tsx) applies to static imports cannot handle.
  const [{ parse, View }, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const vegaSpec = compile(spec).spec;
  const view = new View(parse(vegaSpec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface LineSeries {
  name: string;
  x: readonly number[];
  y: readonly number[];
  /** Optional band (e.g. mean - std), drawn shaded behind the line. */
  lower?: readonly number[];
  upper?: readonly number[];
}

export interface ChartOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Plot area size in pixels (default 480 x 300). */
  width?: number;
  height?: number;
}

export interface LineChartOptions extends ChartOptions {
  series: readonly LineSeries[];
  /** Logarithmic y axis. */
  logY?: boolean;
  /** Mark each data point (default: when a series has at most 30 points). */
  points?: boolean;
  /**
   * One small panel per series (shared axes) instead of one plot. Default: when more than
   * `MAX_OVERLAID_BANDS` series carry bands, which overlaid are unreadable.
   */
  smallMultiples?: boolean;
}

/** More shaded bands than this in one plot hide each other; they get a panel each. */
export const MAX_OVERLAID_BANDS = 3;

function checkLengths(what: string, name: string, n: number, arrays: Record<string, readonly number[] | undefined>): void {
  for (const [k, a] of Object.entries(arrays)) {
    if (a !== undefined && a.length !== n) throw new Error(`${what}: series '${name}' has ${n} x values but ${a.length} ${k} values`);
  }
}

/** Vega-Lite's JSON data cannot hold NaN/Infinity; they become gaps. */
const finite = (v: number | undefined): number | null => (v !== undefined && Number.isFinite(v) ? v : null);

/**
 * Lines with optional shaded bands (mean ± std over seeds), one colour per series; with
 * many bands, one panel per series (`smallMultiples`).
 * @example
 * const svg = await lineChart({
 *   series: [{ name: 'LoRA', x: [0, 1, 2], y: [2.3, 1.1, 0.7], lower: [...], upper: [...] }],
 *   title: 'Training loss', xLabel: 'step', yLabel: 'loss',
 * });
 */
export async function lineChart(opts: LineChartOptions): Promise<string> {
  const names = opts.series.map((s) => s.name);
  const rows = opts.series.flatMap((s) => {
    checkLengths('lineChart', s.name, s.x.length, { y: s.y, lower: s.lower, upper: s.upper });
    return s.x.map((x, i) => ({ series: s.name, x, y: finite(s.y[i]), lower: finite(s.lower?.[i]), upper: finite(s.upper?.[i]) }));
  });
  const points = opts.points ?? opts.series.every((s) => s.x.length <= 30);
  const banded = opts.series.filter((s) => s.lower !== undefined && s.upper !== undefined).length;
  const multiples = opts.smallMultiples ?? banded > MAX_OVERLAID_BANDS;
  const yAxis = { title: opts.yLabel ?? null };
  const yScale = { zero: false, type: opts.logY ? ('log' as const) : ('linear' as const) };
  const layers = {
    encoding: {
      x: { field: 'x', type: 'quantitative' as const, title: opts.xLabel ?? null, scale: { zero: false } },
      // the legend would inherit the pale band's opacity; its swatches are the lines instead
      // (panels are titled by their series, so they need no legend)
      color: {
        field: 'series',
        type: 'nominal' as const,
        sort: names,
        title: null,
        legend: multiples ? null : { symbolOpacity: 1, symbolType: 'stroke', symbolStrokeWidth: 3 },
      },
    },
    layer: [
      {
        transform: [{ filter: 'isValid(datum.lower) && isValid(datum.upper)' }],
        mark: { type: 'area' as const, opacity: 0.2 },
        encoding: { y: { field: 'lower', type: 'quantitative' as const, axis: yAxis, scale: yScale }, y2: { field: 'upper' } },
      },
      {
        transform: [{ filter: 'isValid(datum.y)' }],
        mark: { type: 'line' as const, point: points },
        encoding: { y: { field: 'y', type: 'quantitative' as const, axis: yAxis, scale: yScale } },
      },
    ],
  };
  const columns = Math.min(3, names.length);
  const spec = (
    multiples
      ? {
          facet: { field: 'series', type: 'nominal', sort: names, title: null, header: { labelFontSize: 12 } },
          columns,
          spec: { width: opts.width ?? Math.round(480 / columns), height: opts.height ?? 160, ...layers },
        }
      : { width: opts.width ?? 480, height: opts.height ?? 300, ...layers }
  ) as Partial<TopLevelSpec>;
  return renderVegaLite({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(opts.title ? { title: opts.title } : {}),
    data: { values: rows },
    ...spec,
    config: { font: 'sans-serif' },
  } as TopLevelSpec);
}

export interface BarSeries {
  name: string;
  /** One value per category. */
  values: readonly number[];
  /** Optional error bar half-widths (e.g. std over seeds), one per category. */
  errors?: readonly number[];
}

export interface BarChartOptions extends ChartOptions {
  /** The groups along the x axis. */
  categories: readonly string[];
  /** One bar per series within each group. */
  series: readonly BarSeries[];
}

/**
 * Grouped bars with optional error bars.
 * @example
 * const svg = await barChart({
 *   categories: ['MNIST 0-4', 'MNIST 5-9'],
 *   series: [{ name: 'LoRA', values: [0.97, 0.95], errors: [0.01, 0.02] }, { name: 'EVA', values: [0.98, 0.96] }],
 *   yLabel: 'accuracy',
 * });
 */
export async function barChart(opts: BarChartOptions): Promise<string> {
  const names = opts.series.map((s) => s.name);
  const rows = opts.series.flatMap((s) => {
    checkLengths('barChart', s.name, opts.categories.length, { values: s.values, errors: s.errors });
    return opts.categories.map((category, i) => {
      const v = finite(s.values[i]);
      const e = finite(s.errors?.[i]);
      return { category, series: s.name, value: v, lo: v !== null && e !== null ? v - e : null, hi: v !== null && e !== null ? v + e : null };
    });
  });
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(opts.title ? { title: opts.title } : {}),
    width: opts.width ?? 480,
    height: opts.height ?? 300,
    data: { values: rows },
    encoding: {
      x: { field: 'category', type: 'nominal', sort: [...opts.categories], title: opts.xLabel ?? null, axis: { labelAngle: 0 } },
      xOffset: { field: 'series', type: 'nominal', sort: names },
    },
    layer: [
      {
        mark: 'bar',
        encoding: {
          y: { field: 'value', type: 'quantitative', title: opts.yLabel ?? null },
          color: { field: 'series', type: 'nominal', sort: names, title: null },
        },
      },
      {
        transform: [{ filter: 'isValid(datum.lo) && isValid(datum.hi)' }],
        mark: { type: 'rule', color: 'black' },
        encoding: { y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
      },
    ],
    config: { font: 'sans-serif' },
  };
  return renderVegaLite(spec);
}

/** Writes an SVG string to `path`, creating folders. */
export function writeSvg(path: string, svg: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, svg.endsWith('\n') ? svg : `${svg}\n`);
}
