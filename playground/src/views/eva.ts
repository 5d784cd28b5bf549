/**
 * The EVA view: a small character GPT pretrained on Moby Dick (shipped in assets/eva-base/),
 * EVA's analysis of its layer inputs on first names at several rho (explained variance and the
 * rank each layer gets), then LoRA fine-tuning on the names from EVA's init and from the
 * default init, side by side.
 */
import { maxComponents, type EvaResult } from '@tsgrad/eva';
import { fmt, h, nextFrame, sourceLink } from '../dom.ts';
import { rankGrid, type GridRow } from '../eva-grid.ts';
import { EVA, FINETUNE, LORA, loadEvaTask, RHOS, type EvaTask, type LoraRun } from '../eva-task.ts';
import { linePlot, type Series } from '../plot.ts';

interface RunSummary {
  losses: number[];
  testLosses: [number, number][];
  trainable: number;
  sample: string;
}

/** What the browser test reads (window.tsgradPlayground.eva). */
export interface EvaViewState {
  phase: 'loading' | 'ready' | 'analysing' | 'analysed' | 'finetuning' | 'done' | 'failed';
  error?: string;
  /** Sum of r over the LoRA layers: the ranks EVA hands out. */
  budget?: number;
  /** One EVA run per rho. */
  runs: { rho: number; ranks: Record<string, number>; rankSum: number; batches: number; seconds: number }[];
  /** What the grid shows now: its rho and the sum of the ranks drawn in it. */
  shown?: { rho: number; rankSum: number };
  finetune?: { rho: number; default: RunSummary; eva: RunSummary };
}

const DEFAULT_RHO = 2; // PEFT's default

/** A run's test loss after `step` steps (NaN when it was not evaluated then). */
function testAt(r: RunSummary, step: number): number {
  return r.testLosses.find(([s]) => s === step)?.[1] ?? NaN;
}

export function evaView(root: HTMLElement): void {
  const state: EvaViewState = { phase: 'loading', runs: [] };
  (globalThis as { tsgradPlayground?: Record<string, unknown> }).tsgradPlayground ??= {};
  (globalThis as unknown as { tsgradPlayground: Record<string, unknown> }).tsgradPlayground.eva = state;

  const info = h('p', { class: 'stats', id: 'eva-info' }, 'loading the base model…');
  const analyse = h('button', { id: 'eva-run', disabled: true }, 'run EVA at every ρ');
  const slider = h('input', { id: 'eva-rho', type: 'range', min: 0, max: RHOS.length - 1, step: 1, value: RHOS.indexOf(DEFAULT_RHO), disabled: true });
  const rhoText = h('span', { id: 'eva-rho-text' }, `ρ = ${DEFAULT_RHO}`);
  const summary = h('p', { class: 'hint', id: 'eva-summary' });
  const grid = h('div', { class: 'graph-box', id: 'eva-grid-box' });
  const tune = h('button', { id: 'eva-finetune', disabled: true }, 'fine-tune: EVA vs default init');
  const progress = h('p', { class: 'stats', id: 'eva-progress' }, `LoRA rank ${LORA.r} on ${LORA.targetModules.join(', ')}; ${FINETUNE.steps} AdamW steps (lr ${FINETUNE.lr}, batch ${FINETUNE.batchSize}) for each init.`);
  const plots = h('div', { class: 'plots', id: 'eva-plots' });
  const results = h('div', { id: 'eva-results' });
  const evaResults: EvaResult[] = [];
  let task: EvaTask | undefined;

  const fail = (e: unknown) => {
    state.phase = 'failed';
    state.error = e instanceof Error ? e.message : String(e);
    info.textContent = `error: ${state.error}`;
    console.error(e);
  };

  const showRho = () => {
    const k = Number(slider.value);
    const rho = RHOS[k]!;
    rhoText.textContent = `ρ = ${rho}`;
    const res = evaResults[k];
    if (!res || !task) return;
    const rows: GridRow[] = [...res.ranks].map(([name, rank]) => ({ name, rank, r: LORA.r, ratios: res.explainedVarianceRatio.get(res.groups.get(name)!)! }));
    const columns = Math.max(...evaResults.flatMap((r) => [...r.explainedVarianceRatio.values()].map((v) => v.length)));
    grid.replaceChildren(rankGrid(rows, columns));
    const rankSum = rows.reduce((n, r) => n + r.rank, 0);
    state.shown = { rho, rankSum };
    summary.textContent =
      `ρ = ${rho}: each layer may take up to round(ρ · ${LORA.r}) = ${maxComponents(LORA.r, rho)} components (fewer if its input is narrower); ` +
      `the ${res.rankBudget} ranks of the budget go to the largest shares of variance over all layers, and the ranks sum to ${rankSum}. ` +
      `EVA read ${res.batches} batches of ${EVA.batchSize} names windows until the kept components stopped turning (cosine ≥ ${EVA.tau}). The orange line marks r = ${LORA.r}.`;
  };

  analyse.addEventListener('click', async () => {
    if (!task) return;
    analyse.disabled = true;
    state.phase = 'analysing';
    try {
      for (const rho of RHOS) {
        summary.textContent = `EVA at ρ = ${rho}…`;
        await nextFrame();
        const res = task.eva(rho);
        evaResults.push(res);
        const ranks = Object.fromEntries(res.ranks);
        state.budget = res.rankBudget;
        state.runs.push({ rho, ranks, rankSum: Object.values(ranks).reduce((a, b) => a + b, 0), batches: res.batches, seconds: res.seconds });
      }
    } catch (e) {
      fail(e);
      return;
    }
    slider.disabled = false;
    tune.disabled = false;
    showRho();
    state.phase = 'analysed';
  });
  slider.addEventListener('input', showRho);

  tune.addEventListener('click', async () => {
    if (!task) return;
    tune.disabled = true;
    slider.disabled = true;
    state.phase = 'finetuning';
    const k = Number(slider.value);
    const rho = RHOS[k]!;
    try {
      state.finetune = await finetuneBoth(task, evaResults[k]!, rho, progress, plots);
    } catch (e) {
      fail(e);
      return;
    }
    results.replaceChildren(...finetuneTable(state.finetune, task.sample(task.base())));
    progress.textContent = `done: ${FINETUNE.steps} steps each; final test loss default ${fmt(testAt(state.finetune.default, FINETUNE.steps))}, EVA ${fmt(testAt(state.finetune.eva, FINETUNE.steps))}.`;
    progress.dataset.done = 'true';
    slider.disabled = false;
    tune.disabled = false;
    state.phase = 'done';
  });

  root.replaceChildren(
    h('h2', {}, 'EVA: where to put LoRA’s ranks, read from the data'),
    h(
      'p',
      { class: 'explain' },
      'LoRA fine-tunes a big model cheaply: each weight matrix W stays frozen and learns only a small correction B·A of rank r (A maps the layer’s input down to r numbers, B maps them back up). ',
      'The usual start is A random and B = 0, so the model begins exactly as it was, and every layer gets the same r. ',
      'EVA (Explained Variance Adaptation) starts A somewhere better: it runs the model on a few batches of the new data, and for each layer finds the directions in which that layer’s inputs vary most (principal components, computed incrementally batch by batch until they stop moving). A’s rows become those directions, so the first steps already act on what matters in the new data. ',
      'It also moves ranks between layers: all layers’ components compete for the same total budget (r times the number of layers), each layer capped at ρ·r, and the largest shares of variance win. With ρ = 1 every layer keeps r. ',
      'Here the base is a tiny character GPT that read Moby Dick; the new data is a list of first names. ',
      'Sources: ', sourceLink('packages/eva/src/eva/compute.ts'), ', ', sourceLink('packages/eva/src/incremental-pca.ts'), ', ', sourceLink('packages/eva/src/rank-distribution.ts'), ', ', sourceLink('packages/eva/src/eva/load.ts'), ', ', sourceLink('packages/eva/src/lora-linear.ts'), ', ', sourceLink('playground/src/eva-task.ts'), ', ', sourceLink('playground/assets/make-eva-base.ts'), '.',
    ),
    info,
    h('div', { class: 'controls' }, analyse, h('label', {}, 'ρ ', slider), rhoText),
    summary,
    grid,
    h('div', { class: 'controls' }, tune),
    progress,
    plots,
    results,
  );

  loadEvaTask()
    .then((t) => {
      task = t;
      const p = t.config.pretraining;
      info.textContent =
        `base: GPT with ${t.config.gpt.nLayers} blocks, d = ${t.config.gpt.dModel}, ${t.config.gpt.nHeads} heads, context ${t.config.gpt.contextLength}, ${p.parameters} parameters; ` +
        `pretrained ${p.steps} steps on Moby Dick (held-out loss ${fmt(p.heldOutLoss)}). Fine-tuning data: ${t.names} first names, 85 % train, 15 % test.`;
      info.dataset.ready = 'true';
      analyse.disabled = false;
      state.phase = 'ready';
    })
    .catch(fail);
}

/** Fine-tunes from the default init and from EVA's, step by step in turn, redrawing the loss plot as they go. */
async function finetuneBoth(task: EvaTask, eva: EvaResult, rho: number, progress: HTMLElement, plots: HTMLElement): Promise<NonNullable<EvaViewState['finetune']>> {
  const runs = { default: task.finetune('default'), eva: task.finetune('eva', eva, rho) };
  const draw = () => plots.replaceChildren(lossPlot(runs.default, runs.eva, rho));
  while (runs.eva.step < FINETUNE.steps) {
    runs.default.trainStep();
    runs.eva.trainStep();
    if (runs.eva.step % 5 === 0) {
      progress.textContent = `step ${runs.eva.step} / ${FINETUNE.steps}: training loss default ${fmt(runs.default.losses.at(-1)!)}, EVA ${fmt(runs.eva.losses.at(-1)!)}`;
      draw();
      await nextFrame();
    }
  }
  draw();
  const summaryOf = (run: LoraRun): RunSummary => ({ losses: run.losses, testLosses: run.testLosses, trainable: run.trainable, sample: task.sample(run.model) });
  return { rho, default: summaryOf(runs.default), eva: summaryOf(runs.eva) };
}

/** Test losses of both runs at a few steps, and what each writes after fine-tuning. */
function finetuneTable(ft: NonNullable<EvaViewState['finetune']>, baseSample: string): HTMLElement[] {
  const early = FINETUNE.evalEvery * 2;
  const names = (text: string) => text.replace(/\n/g, ' · ');
  return [
    h(
      'table',
      { class: 'numbers', id: 'eva-table' },
      h('tr', {}, h('th', {}, 'init'), h('th', {}, 'trainable numbers'), h('th', {}, 'test loss at step 0'), h('th', {}, `at step ${early}`), h('th', {}, `at step ${FINETUNE.steps}`), h('th', {}, 'what it writes after fine-tuning')),
      ...([['default', ft.default], [`EVA (ρ = ${ft.rho})`, ft.eva]] as const).map(([name, r]) =>
        h('tr', {}, h('th', {}, name), h('td', {}, String(r.trainable)), h('td', {}, fmt(testAt(r, 0))), h('td', {}, fmt(testAt(r, early))), h('td', {}, fmt(testAt(r, FINETUNE.steps))), h('td', { style: 'text-align: left; font-family: ui-monospace, monospace' }, names(r.sample))),
      ),
    ),
    h('p', { class: 'hint' }, 'Both start from the same loss: B = 0 in both inits, so before the first step the adapted model is the base model. The base model alone writes: ', h('code', {}, names(baseSample))),
  ];
}

/** Training loss (mean of the last 10 steps) and test loss of both runs against the step. */
function lossPlot(d: LoraRun, e: LoraRun, rho: number): SVGElement {
  const smooth = (xs: number[]) => xs.map((_, i) => [i + 1, xs.slice(Math.max(0, i - 9), i + 1).reduce((a, b) => a + b, 0) / Math.min(10, i + 1)] as [number, number]);
  const series: Series[] = [
    { name: 'default: train', color: '#d9534f', points: smooth(d.losses) },
    { name: `EVA ρ=${rho}: train`, color: '#2a7ab9', points: smooth(e.losses) },
    { name: 'default: test', color: '#d9534f', points: d.testLosses, dashed: true },
    { name: `EVA ρ=${rho}: test`, color: '#2a7ab9', points: e.testLosses, dashed: true },
  ];
  return linePlot(series, { title: 'loss on first names (train: mean of the last 10 steps)', xLabel: 'step', width: 560, height: 260 });
}
