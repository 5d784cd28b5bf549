/**
 * `pnpm test:browser`: builds the playground, serves playground/dist/ on a local port and drives
 * it in headless Chromium (the system's, via puppeteer-core: no browser download). Each view runs
 * its short flow and must produce real outcomes; a screenshot of each lands in results/playground/.
 *
 *   CHROMIUM=/path/to/chrome pnpm test:browser   another browser binary (default /usr/bin/chromium)
 *   BROWSER_TIMEOUT_FACTOR=4 pnpm test:browser   wait 4 times longer for each flow (a loaded machine)
 *   pnpm test:browser --skip-lmc                 without the LMC view
 *   pnpm test:browser --skip-conformance         without the backend test files in the page
 *   pnpm test:browser --only eva,lmc             only these views' flows (and no conformance)
 *   pnpm test:browser --update-screenshots       also copy the views' screenshots to playground/screenshots/ (for the README)
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import puppeteer, { type Page } from 'puppeteer-core';
import { add, div, exp, gradients, mul, pow, sin, tensor } from '@tsgrad/autograd';
import { allGradients, buildGraph } from '../src/expr.ts';
import { buildPlayground, distDir, here } from '../build.ts';
import { KNOWN_GAPS, runConformance } from './conformance.ts';

const shots = join(here, '..', 'results', 'playground');
const browserPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const t0 = performance.now();
const log = (msg: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(1)} s] ${msg}`);

const timeoutFactor = Number(process.env.BROWSER_TIMEOUT_FACTOR ?? 1);
if (!(timeoutFactor >= 1)) throw new Error(`test:browser: BROWSER_TIMEOUT_FACTOR must be a number >= 1, got '${process.env.BROWSER_TIMEOUT_FACTOR}'`);
/** How long a flow may wait for the page, in ms: its budget on an idle machine, times BROWSER_TIMEOUT_FACTOR. */
const patience = (ms: number) => ms * timeoutFactor;
const onlyArg = process.argv.indexOf('--only');
const only = onlyArg >= 0 ? new Set((process.argv[onlyArg + 1] ?? '').split(',')) : undefined;
const VIEW_NAMES = ['autograd', 'training', 'lmc', 'eva'];
for (const v of only ?? []) if (!VIEW_NAMES.includes(v)) throw new Error(`test:browser: --only takes views among ${VIEW_NAMES.join(', ')}, got '${v}'`);
/** The views whose flows run: all of them unless `--only` names some or `--skip-lmc` drops one. */
const flows = VIEW_NAMES.filter((v) => (only === undefined || only.has(v)) && !(v === 'lmc' && process.argv.includes('--skip-lmc')));

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.map': 'application/json' };

function serve(root: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(root, path.endsWith('/') ? `${path}index.html` : path);
    if (!file.startsWith(root) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    // cross-origin isolated (as playground/serve.ts), so the fast backend's matmul pool gets SharedArrayBuffer and Web Workers
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** The custom expression typed into the autograd view, and the same function written by hand for Node. */
const EXPR = 'sin(x) * y^2 + exp(x*y) / y';
const X = 0.4;
const Y = -1.7;

function nodeGradients(): { value: number; dx: number; dy: number } {
  const x = tensor([X], { dtype: 'float64', requiresGrad: true });
  const y = tensor([Y], { dtype: 'float64', requiresGrad: true });
  const f = add(mul(sin(x), pow(y, tensor([2], { dtype: 'float64' }))), div(exp(mul(x, y)), y));
  const [dx, dy] = gradients(f, [x, y]);
  return { value: f.item(), dx: dx!.item(), dy: dy!.item() };
}

async function autogradFlow(page: Page, origin: string): Promise<void> {
  await page.goto(`${origin}/#autograd`);
  await page.waitForSelector('#graph svg');
  await page.$eval('#expr', (el, v) => ((el as unknown as { value: string }).value = v), EXPR);
  await page.$eval('#x', (el, v) => ((el as unknown as { value: string }).value = String(v)), X);
  await page.$eval('#y', (el, v) => ((el as unknown as { value: string }).value = String(v)), Y);
  await page.$eval('#expr', (el) => el.dispatchEvent(new Event('change')));
  const steps = Number(await page.$eval('#graph', (el) => el.getAttribute('data-steps')));
  const graph = buildGraph(EXPR, X, Y);
  assert.equal(steps, graph.nodes.filter((n) => n.tensor.requiresGrad).length, 'one backward step per node that needs a gradient');
  // no gradients before the backward pass; after one step the output holds d f / d f = 1
  const before = await page.$$eval('#graph g.node', (gs) => gs.map((g) => g.getAttribute('data-grad')));
  assert.ok(before.every((g) => g === ''), 'gradients shown before the backward pass');
  await page.click('#step');
  const outGrad = await page.$eval(`#graph g[data-node="${graph.output}"]`, (g) => Number(g.getAttribute('data-grad')));
  assert.equal(outGrad, 1);
  for (let k = 1; k < Math.ceil(steps / 2); k++) await page.click('#step');
  await page.screenshot({ path: join(shots, 'autograd.png'), fullPage: true });
  await page.click('#run-backward');
  const nodes = await page.$$eval('#graph g.node', (gs) => gs.map((g) => ({ id: Number(g.getAttribute('data-node')), label: g.getAttribute('data-label'), value: Number(g.getAttribute('data-value')), grad: g.getAttribute('data-grad') })));
  // every node's value and gradient equals the same graph evaluated by tsgrad in Node ...
  const expected = allGradients(graph);
  for (const n of nodes) {
    const ref = graph.nodes[n.id]!;
    assert.equal(n.value, ref.value, `value of node ${n.id} (${n.label})`);
    if (ref.tensor.requiresGrad) assert.equal(Number(n.grad), expected[n.id], `gradient of node ${n.id} (${n.label})`);
  }
  // ... and x, y, f match the function written out by hand (float64: equal to rounding)
  const hand = nodeGradients();
  const byLabel = (l: string) => nodes.find((n) => n.label === l)!;
  const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${what}: page ${a}, node ${b}`);
  close(nodes.find((n) => n.id === graph.output)!.value, hand.value, 'f');
  close(Number(byLabel('x').grad), hand.dx, 'df/dx');
  close(Number(byLabel('y').grad), hand.dy, 'df/dy');
  log(`autograd view: ${nodes.length} nodes, ${steps} backward steps; df/dx = ${hand.dx}, df/dy = ${hand.dy} equal Node's`);
}

async function trainingFlow(page: Page, origin: string): Promise<void> {
  await page.goto(`${origin}/#training`);
  await page.waitForSelector('#train-stats[data-ready="true"]', { timeout: patience(60_000) });
  await page.click('#train-start');
  await page.waitForFunction(() => (globalThis as any).tsgradPlayground.training.step >= 300, { timeout: patience(180_000), polling: 250 });
  await page.click('#train-pause');
  const st = (await page.evaluate(() => {
    const t = (globalThis as any).tsgradPlayground.training;
    return { losses: t.losses as number[], testAcc: t.testAcc as [number, number][], sps: t.stepsPerSecond as number };
  })) as { losses: number[]; testAcc: [number, number][]; sps: number };
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = mean(st.losses.slice(0, 10));
  const last = mean(st.losses.slice(-20));
  assert.ok(last < 0.5 * first, `training loss should fall by half: first 10 steps ${first}, last 20 ${last}`);
  const acc = st.testAcc.at(-1)![1];
  assert.ok(acc > 0.75, `test accuracy after ${st.losses.length} steps: ${acc}`);
  await page.screenshot({ path: join(shots, 'training.png'), fullPage: true });
  log(`training view (fast CPU): loss ${first.toFixed(3)} -> ${last.toFixed(3)} in ${st.losses.length} steps, test accuracy ${acc.toFixed(3)}, ${st.sps.toFixed(0)} steps/s`);

  // the same model on gpu.js kernels compiled for WebGL (SwiftShader's software GL in headless Chromium)
  await page.select('#backend', 'gpu');
  const note = await page.$eval('#backend-note', (el) => el.textContent ?? '');
  assert.match(note, /^gpu backend ready/, `switching to the gpu.js backend: ${note}`);
  await page.click('#train-start');
  await page.waitForFunction(() => (globalThis as any).tsgradPlayground.training.step >= 40, { timeout: patience(180_000), polling: 250 });
  await page.click('#train-pause');
  const gpu = (await page.evaluate(() => {
    const t = (globalThis as any).tsgradPlayground.training;
    return { losses: t.losses as number[], sps: t.stepsPerSecond as number, backend: t.backend as string };
  })) as { losses: number[]; sps: number; backend: string };
  assert.equal(gpu.backend, 'gpu');
  const gFirst = mean(gpu.losses.slice(0, 5));
  const gLast = mean(gpu.losses.slice(-5));
  assert.ok(gLast < 0.6 * gFirst, `gpu.js training loss should fall: first 5 steps ${gFirst}, last 5 ${gLast}`);
  await page.screenshot({ path: join(shots, 'training-gpu.png'), fullPage: true });
  log(`training view (gpu.js WebGL): loss ${gFirst.toFixed(3)} -> ${gLast.toFixed(3)} in ${gpu.losses.length} steps, ${gpu.sps.toFixed(1)} steps/s`);
  await page.select('#backend', 'fast');
}

async function lmcFlow(page: Page, origin: string): Promise<void> {
  await page.goto(`${origin}/#lmc`);
  await page.click('#lmc-run');
  await page.waitForSelector('#lmc-progress[data-done="true"]', { timeout: patience(300_000) });
  const st = (await page.evaluate(() => ({ ...(globalThis as any).tsgradPlayground.lmc }))) as {
    naiveBarrier: number;
    matchedBarrier: number;
    amBarrier: number;
    steBarrier: number;
    distanceRatio: number;
    steDistanceRatio: number;
    ste: { steps: number; agreementWithWm: number };
    alignment: { naive: number; matched: number; ste: number };
  };
  assert.ok(st.matchedBarrier < st.naiveBarrier, `matched barrier ${st.matchedBarrier} should be below naive ${st.naiveBarrier}`);
  assert.ok(st.amBarrier < st.naiveBarrier, `activation-matched barrier ${st.amBarrier} should be below naive ${st.naiveBarrier}`);
  // STE ran (3 epochs of 20 batches) and its permutation flattens the line as well
  assert.equal(st.ste.steps, 60, 'STE steps: 3 passes over 2,000 digits in batches of 100');
  assert.ok(st.steBarrier < st.naiveBarrier, `STE barrier ${st.steBarrier} should be below naive ${st.naiveBarrier}`);
  assert.ok(st.steDistanceRatio < 1, `STE should bring B closer to A: ratio ${st.steDistanceRatio}`);
  assert.ok(st.alignment.matched > st.alignment.naive, `weight matching should align singular vectors: R(0.5) ${st.alignment.naive} -> ${st.alignment.matched}`);
  assert.ok(st.distanceRatio < 1, `weight matching should bring B closer to A: ratio ${st.distanceRatio}`);
  await page.screenshot({ path: join(shots, 'lmc.png'), fullPage: true });
  log(`lmc view: test loss barrier naive ${st.naiveBarrier.toFixed(3)}, weight matching ${st.matchedBarrier.toFixed(3)}, activation matching ${st.amBarrier.toFixed(3)}, STE ${st.steBarrier.toFixed(3)}; L2 ratio WM ${st.distanceRatio.toFixed(3)}, STE ${st.steDistanceRatio.toFixed(3)}; R(0.5) ${st.alignment.naive.toFixed(3)} -> WM ${st.alignment.matched.toFixed(3)}, STE ${st.alignment.ste.toFixed(3)}; STE agrees with WM on ${(100 * st.ste.agreementWithWm).toFixed(0)} % of units`);
}

async function evaFlow(page: Page, origin: string): Promise<void> {
  await page.goto(`${origin}/#eva`);
  await page.waitForSelector('#eva-info[data-ready="true"]', { timeout: patience(60_000) });
  await page.click('#eva-run');
  await page.waitForFunction(() => ['analysed', 'failed'].includes((globalThis as any).tsgradPlayground.eva.phase), { timeout: patience(180_000), polling: 250 });
  type Run = { rho: number; ranks: Record<string, number>; rankSum: number; batches: number };
  const analysed = (await page.evaluate(() => JSON.parse(JSON.stringify((globalThis as any).tsgradPlayground.eva)))) as { phase: string; error?: string; budget: number; runs: Run[] };
  assert.equal(analysed.phase, 'analysed', `EVA failed in the page: ${analysed.error}`);
  const rhos = analysed.runs.map((r) => r.rho);
  assert.ok(rhos.length >= 3 && rhos[0] === 1, `EVA should run at rho 1 and more: ${rhos}`);
  // 13 LoRA layers (6 Linears in each of 2 blocks, and the head) of rank 4 each
  assert.equal(analysed.budget, 13 * 4, 'rank budget');
  for (const run of analysed.runs) {
    assert.equal(Object.keys(run.ranks).length, 13, `rho ${run.rho}: one rank per LoRA layer`);
    assert.equal(run.rankSum, analysed.budget, `rho ${run.rho}: EVA's ranks sum to ${run.rankSum}, not the budget ${analysed.budget}`);
    if (run.rho === 1) assert.ok(Object.values(run.ranks).every((r) => r === 4), `rho 1 caps every layer at r: ${JSON.stringify(run.ranks)}`);
  }
  // the grid the slider shows: at each rho the drawn ranks sum to the budget and none passes its cap
  for (let k = 0; k < rhos.length; k++) {
    await page.$eval('#eva-rho', (el, v) => {
      (el as unknown as { value: string }).value = String(v);
      el.dispatchEvent(new Event('input'));
    }, k);
    const rows = await page.$$eval('#eva-grid g.eva-row', (gs) => gs.map((g) => ({ rank: Number(g.getAttribute('data-rank')), cap: Number(g.getAttribute('data-cap')) })));
    const shown = await page.evaluate(() => (globalThis as any).tsgradPlayground.eva.shown as { rho: number; rankSum: number });
    assert.equal(shown.rho, rhos[k]);
    assert.equal(rows.reduce((n, r) => n + r.rank, 0), analysed.budget, `rho ${rhos[k]}: the grid's ranks sum to the budget`);
    assert.ok(rows.every((r) => r.rank <= r.cap && r.cap <= Math.round(rhos[k]! * 4)), `rho ${rhos[k]}: a rank above its cap: ${JSON.stringify(rows)}`);
  }
  await page.$eval('#eva-rho', (el, v) => {
    (el as unknown as { value: string }).value = String(v);
    el.dispatchEvent(new Event('input'));
  }, rhos.indexOf(2));

  await page.click('#eva-finetune');
  await page.waitForSelector('#eva-progress[data-done="true"]', { timeout: patience(300_000) });
  type Summary = { losses: number[]; testLosses: [number, number][] };
  const ft = (await page.evaluate(() => (globalThis as any).tsgradPlayground.eva.finetune)) as { rho: number; default: Summary; eva: Summary };
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  for (const [name, r] of [['default', ft.default], ['EVA', ft.eva]] as const) {
    const first = mean(r.losses.slice(0, 10));
    const last = mean(r.losses.slice(-10));
    assert.ok(last < first - 0.3, `${name} init: training loss should fall: first 10 steps ${first}, last 10 ${last}`);
    assert.ok(r.testLosses.at(-1)![1] < r.testLosses[0]![1] - 0.3, `${name} init: test loss should fall: ${JSON.stringify(r.testLosses)}`);
  }
  // B = 0 in both inits: before the first step both adapted models are the base model
  assert.ok(Math.abs(ft.default.testLosses[0]![1] - ft.eva.testLosses[0]![1]) < 1e-6, `both runs start from the base model's test loss: ${ft.default.testLosses[0]![1]} vs ${ft.eva.testLosses[0]![1]}`);
  await page.screenshot({ path: join(shots, 'eva.png'), fullPage: true });
  const fmtRun = (r: Summary) => `${r.testLosses[0]![1].toFixed(3)} -> ${r.testLosses.at(-1)![1].toFixed(3)}`;
  log(`eva view: ranks sum to ${analysed.budget} at rho ${rhos.join(', ')} (EVA batches ${analysed.runs.map((r) => r.batches).join(', ')}); test loss default ${fmtRun(ft.default)}, EVA (rho ${ft.rho}) ${fmtRun(ft.eva)}`);
}

async function main(): Promise<void> {
  if (!existsSync(browserPath)) throw new Error(`test:browser: no browser at ${browserPath}; install Debian's chromium (apt-get install -y chromium) or set CHROMIUM`);
  mkdirSync(shots, { recursive: true });
  const bytes = await buildPlayground();
  log(`built the playground (main.js ${(bytes / 1024).toFixed(0)} KiB)`);
  const server = await serve(distDir);
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await puppeteer.launch({ executablePath: browserPath, headless: true, protocolTimeout: patience(180_000), args: ['--no-sandbox', '--disable-dev-shm-usage', '--enable-unsafe-swiftshader', '--use-angle=swiftshader'] });
  const errors: string[] = [];
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    page.setDefaultTimeout(patience(30_000)); // navigations and clicks
    page.on('pageerror', (e) => errors.push(`page error: ${(e as Error).message}`));
    page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
    log(`chromium ${await browser.version()} at ${origin}`);
    if (flows.includes('autograd')) await autogradFlow(page, origin);
    if (flows.includes('training')) await trainingFlow(page, origin);
    if (flows.includes('lmc')) await lmcFlow(page, origin);
    if (flows.includes('eva')) await evaFlow(page, origin);
    assert.deepEqual(errors, [], 'the page logged errors');
    // the views passed: their screenshots may go to the README whatever the conformance suites say
    if (process.argv.includes('--update-screenshots')) for (const view of flows) copyFileSync(join(shots, `${view}.png`), join(here, 'screenshots', `${view}.png`));
    if (only === undefined && !process.argv.includes('--skip-conformance')) {
      const { results, problems } = await runConformance(browser, { root: join(here, '..'), dir: join(distDir, 'conformance'), origin, urlPath: 'conformance' });
      for (const r of results) log(`in-page ${r.file}: ${r.passed}/${r.total} passed in ${r.seconds.toFixed(1)} s${r.failed.length ? `; known gaps: ${r.failed.map((f) => `"${f}" (${KNOWN_GAPS[f] ?? 'NOT KNOWN'})`).join('; ')}` : ''}`);
      assert.deepEqual(problems, [], 'backend tests in the page');
    }
  } finally {
    await browser.close();
    server.close();
  }
  log(`browser test passed; screenshots in ${shots}`);
}

await main();
