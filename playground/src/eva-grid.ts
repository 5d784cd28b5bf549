/**
 * EVA's rank redistribution as a picture: one row per LoRA layer, one square per principal
 * component of its input, shaded by the share of variance it explains. Squares EVA kept (the
 * layer's new rank) are blue, the ones it let go grey, and columns past the layer's cap
 * round(rho · r) are empty: those components were never computed.
 */
import { fmt, s } from './dom.ts';

export interface GridRow {
  name: string;
  /** Explained variance ratio of each component EVA computed (descending; length = the cap). */
  ratios: ArrayLike<number>;
  /** The rank EVA gave the layer (the first `rank` components). */
  rank: number;
  /** The layer's rank before EVA (r), marked with a line. */
  r: number;
}

const CELL = 30;
const NAME_W = 170;
const RANK_W = 56;

/** The grid for one rho; `columns` fixes the width so the picture does not jump as rho changes. */
export function rankGrid(rows: readonly GridRow[], columns: number): SVGElement {
  const W = NAME_W + columns * CELL + RANK_W;
  const H = 22 + rows.length * CELL + 8;
  const svg = s('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: 'plot', id: 'eva-grid' });
  svg.append(
    s('text', { x: 6, y: 15, class: 'plot-title' }, 'layer'),
    s('text', { x: NAME_W, y: 15, class: 'plot-title' }, 'principal components (share of variance)'),
    s('text', { x: W - RANK_W + 8, y: 15, class: 'plot-title' }, 'rank'),
  );
  // the strongest component of all sets the darkest shade
  const top = Math.max(1e-12, ...rows.flatMap((r) => Array.from(r.ratios)));
  rows.forEach((row, i) => {
    const y = 22 + i * CELL;
    const g = s('g', { class: 'eva-row', 'data-layer': row.name, 'data-rank': row.rank, 'data-cap': row.ratios.length });
    g.append(s('text', { x: 6, y: y + CELL / 2 + 4, 'font-family': 'ui-monospace, monospace', 'font-size': 12 }, row.name));
    for (let j = 0; j < columns; j++) {
      const x = NAME_W + j * CELL;
      if (j >= row.ratios.length) {
        g.append(s('rect', { x: x + 2, y: y + 2, width: CELL - 4, height: CELL - 4, fill: 'none', stroke: '#e1e5ec', 'stroke-dasharray': '2 3' }));
        continue;
      }
      const v = Number(row.ratios[j]);
      const kept = j < row.rank;
      const shade = 0.15 + 0.85 * Math.sqrt(v / top);
      const fill = kept ? `rgba(42, 122, 185, ${shade.toFixed(3)})` : `rgba(120, 128, 140, ${(shade * 0.45).toFixed(3)})`;
      g.append(
        s('rect', { x: x + 1, y: y + 1, width: CELL - 2, height: CELL - 2, fill, stroke: kept ? '#1f5d8f' : '#c9ced8' }, s('title', {}, `${row.name} component ${j + 1}: ${fmt(100 * v)} % of the variance${kept ? ' (kept)' : ''}`)),
        s('text', { x: x + CELL / 2, y: y + CELL / 2 + 4, 'text-anchor': 'middle', 'font-size': 10, fill: kept && shade > 0.55 ? '#fff' : '#1d2330' }, Math.round(100 * v).toString()),
      );
    }
    // r, the rank every layer would get without EVA
    const rx = NAME_W + row.r * CELL;
    g.append(s('line', { x1: rx, x2: rx, y1: y, y2: y + CELL, stroke: '#e07b00', 'stroke-width': 2 }));
    const delta = row.rank - row.r;
    g.append(s('text', { x: W - RANK_W + 8, y: y + CELL / 2 + 4, 'font-size': 13, 'font-weight': 600, class: 'eva-rank' }, `${row.rank}${delta === 0 ? '' : delta > 0 ? ` (+${delta})` : ` (${delta})`}`));
    svg.append(g);
  });
  return svg;
}
