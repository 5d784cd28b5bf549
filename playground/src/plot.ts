/** A small SVG line chart: a few series against a shared x axis, with axis ticks. */
import { fmt, s } from './dom.ts';

export interface Series {
  name: string;
  color: string;
  points: [number, number][];
  dashed?: boolean;
}

export interface PlotOptions {
  width?: number;
  height?: number;
  title: string;
  xLabel: string;
  yMin?: number;
  yMax?: number;
}

export function linePlot(series: Series[], o: PlotOptions): SVGElement {
  const W = o.width ?? 420;
  const H = o.height ?? 220;
  const m = { l: 46, r: 12, t: 24, b: 34 };
  const all = series.flatMap((x) => x.points);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]).filter(Number.isFinite);
  const x0 = xs.length ? Math.min(...xs) : 0;
  const x1 = xs.length ? Math.max(...xs, x0 + 1e-9) : 1;
  let y0 = o.yMin ?? (ys.length ? Math.min(...ys) : 0);
  let y1 = o.yMax ?? (ys.length ? Math.max(...ys) : 1);
  if (y1 - y0 < 1e-9) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const X = (v: number) => m.l + ((v - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const Y = (v: number) => H - m.b - ((v - y0) / (y1 - y0)) * (H - m.t - m.b);
  const svg = s('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: 'plot' });
  svg.append(s('text', { x: m.l, y: 15, class: 'plot-title' }, o.title));
  for (let k = 0; k <= 4; k++) {
    const v = y0 + ((y1 - y0) * k) / 4;
    svg.append(s('line', { x1: m.l, x2: W - m.r, y1: Y(v), y2: Y(v), class: 'gridline' }), s('text', { x: m.l - 6, y: Y(v) + 4, class: 'tick', 'text-anchor': 'end' }, fmt(v)));
  }
  for (let k = 0; k <= 4; k++) {
    const v = x0 + ((x1 - x0) * k) / 4;
    svg.append(s('text', { x: X(v), y: H - m.b + 16, class: 'tick', 'text-anchor': 'middle' }, fmt(v)));
  }
  svg.append(s('text', { x: (W + m.l) / 2, y: H - 4, class: 'axis-label', 'text-anchor': 'middle' }, o.xLabel));
  series.forEach((ser, i) => {
    const pts = ser.points.filter((p) => Number.isFinite(p[1]));
    if (pts.length) svg.append(s('polyline', { points: pts.map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(' '), fill: 'none', stroke: ser.color, 'stroke-width': 2, 'stroke-dasharray': ser.dashed ? '5 4' : undefined }));
    const lx = W - m.r - 130;
    const ly = m.t + 4 + i * 15;
    svg.append(s('line', { x1: lx, x2: lx + 16, y1: ly, y2: ly, stroke: ser.color, 'stroke-width': 2, 'stroke-dasharray': ser.dashed ? '5 4' : undefined }), s('text', { x: lx + 20, y: ly + 4, class: 'legend' }, ser.name));
  });
  return svg;
}
