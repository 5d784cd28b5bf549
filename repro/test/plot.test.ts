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
