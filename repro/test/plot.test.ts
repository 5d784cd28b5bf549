import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { barChart, lineChart, renderVegaLite, writeSvg } from '../lib/plot.ts';

/** Well-formedness of the tag structure: every opened element is closed in order. */
function assertWellFormedSvg(svg: string): void {
  assert.ok(svg.startsWith('<svg'), 'starts with <svg');
  assert.ok(svg.trimEnd().endsWith('</svg>'), 'ends with </svg>');
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([A-Za-z][\w:.-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g)) {
    const [, closing, name, , selfClosing] = m;
    if (closing) assert.is(stack.pop(), name, `closing </${name}>`);
    else if (!selfClosing) stack.push(name!);
  }
  assert.equal(stack, [], 'all elements closed');
  assert.not.match(svg, /NaN/);
}

test('lineChart renders a valid SVG with series names, title, axis labels and bands', async () => {
  const x = [0, 1, 2, 3, 4];
  const svg = await lineChart({
    title: 'Loss curves',
    xLabel: 'step',
    yLabel: 'loss',
    series: [
      { name: 'LoRA baseline', x, y: [2, 1.5, 1.2, 1.0, 0.9], lower: [1.9, 1.4, 1.1, 0.9, 0.8], upper: [2.1, 1.6, 1.3, 1.1, 1.0] },
      { name: 'EVA & friends', x, y: [1.8, 1.2, 0.9, 0.8, NaN] },
    ],
  });
  assertWellFormedSvg(svg);
  for (const s of ['LoRA baseline', 'EVA &amp; friends', 'Loss curves', 'step', 'loss']) assert.ok(svg.includes(s), `contains ${s}`);
  assert.match(svg, /<path[^>]*aria-roledescription="area"|role-area|mark-area/);
});

test('line legends use full-opacity line swatches, not the pale band colour', async () => {
  const x = [0, 1, 2];
  const svg = await lineChart({ series: [{ name: 'a', x, y: [1, 2, 3], lower: [0, 1, 2], upper: [2, 3, 4] }, { name: 'b', x, y: [3, 2, 1] }] });
  const swatches = [...svg.matchAll(/role-legend-symbol[^>]*><path[^>]*opacity="([\d.]+)"/g)].map((m) => Number(m[1]));
  assert.is(swatches.length, 2);
  assert.ok(swatches.every((o) => o === 1), `legend opacities ${swatches}`);
});

test('more than three bands become small multiples: one titled panel per series, no legend', async () => {
  const x = [0, 1, 2, 3];
  const series = (n: number) =>
    Array.from({ length: n }, (_, k) => ({ name: `run ${k}`, x, y: x.map((v) => k + v), lower: x.map((v) => k + v - 0.5), upper: x.map((v) => k + v + 0.5) }));
  // panels are laid out three to a row and only the bottom row carries an x axis
  const xAxes = (svg: string) => (svg.match(/aria-label="X-axis/g) ?? []).length;
  const six = await lineChart({ series: series(6), yLabel: 'loss' });
  assertWellFormedSvg(six);
  assert.is(xAxes(six), 3, 'two rows of three panels');
  assert.is((six.match(/aria-label="Y-axis/g) ?? []).length, 2, 'one y axis per row');
  for (let k = 0; k < 6; k++) assert.match(six, new RegExp(`>run ${k}</text>`));
  assert.not.match(six, /role-legend/);
  const three = await lineChart({ series: series(3) });
  assert.is(xAxes(three), 1, 'up to three bands share one plot');
  assert.match(three, /role-legend/);
  assert.is(xAxes(await lineChart({ series: series(2), smallMultiples: true })), 2, 'on request');
});

test('barChart renders grouped bars with error bars', async () => {
  const svg = await barChart({
    title: 'Accuracy',
    categories: ['digits 0-4', 'digits 5-9'],
    series: [
      { name: 'gaussian', values: [0.9, 0.8], errors: [0.01, 0.02] },
      { name: 'pissa', values: [0.92, 0.85] },
    ],
    yLabel: 'accuracy',
  });
  assertWellFormedSvg(svg);
  for (const s of ['gaussian', 'pissa', 'digits 0-4', 'digits 5-9', 'Accuracy']) assert.ok(svg.includes(s), `contains ${s}`);
  assert.match(svg, /mark-rule/);
});

test('mismatched lengths are rejected; writeSvg creates folders; raw specs render', async () => {
  const failure = async (p: Promise<string>) => p.then(() => '', (e: Error) => e.message);
  assert.match(await failure(lineChart({ series: [{ name: 'a', x: [1, 2], y: [1] }] })), /series 'a' has 2 x values but 1 y values/);
  assert.match(await failure(barChart({ categories: ['a', 'b'], series: [{ name: 's', values: [1] }] })), /series 's' has 2 x values but 1 values/);
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-plot-'));
  try {
    const svg = await renderVegaLite({ data: { values: [{ a: 1, b: 2 }] }, mark: 'point', encoding: { x: { field: 'a', type: 'quantitative' }, y: { field: 'b', type: 'quantitative' } } });
    const path = join(dir, 'sub', 'p.svg');
    writeSvg(path, svg);
    assertWellFormedSvg(readFileSync(path, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
