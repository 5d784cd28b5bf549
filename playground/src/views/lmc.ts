/**
 * The linear-mode-connectivity view: two MLPs trained from different seeds, the straight line
 * between their weights (naive), and the same line after weight matching, activation matching
 * or the straight-through estimator permutes B's hidden units to line up with A's.
 */
import { argmax } from '@tsgrad/tensor';
import { noGrad, Tensor } from '@tsgrad/autograd';
import { DataLoader, MLP, TensorDataset } from '@tsgrad/nn';
import {
  activationMatching,
  alignmentR,
  applyPermutation,
  interpolate,
  l2Distance,
  layerSVDs,
  lerpStateDicts,
  linspace01,
  mlpFeatureSources,
  mlpPermutationSpec,
  steMatching,
  weightMatching,
  weightMatrixKeys,
  type AlignmentResult,
  type InterpolationCurve,
  type Permutation,
  type StateDict,
} from '@tsgrad/wm';
import { fmt, h, nextFrame, sourceLink } from '../dom.ts';
import { digitFigure } from '../digits.ts';
import { loadSubset, Trainer, type MnistSubset } from '../mnist.ts';
import { linePlot } from '../plot.ts';

/** What the browser test reads (window.tsgradPlayground.lmc). */
export interface LmcState {
  phase: 'idle' | 'training' | 'matching' | 'interpolating' | 'done';
  naiveBarrier?: number;
  matchedBarrier?: number;
  amBarrier?: number;
  steBarrier?: number;
  /** ||A - pi(B)|| / ||A - B|| after weight matching. */
  distanceRatio?: number;
  /** The same ratio after STE. */
  steDistanceRatio?: number;
  /** STE's optimizer steps, and the share of hidden units it pairs as weight matching does. */
  ste?: { steps: number; agreementWithWm: number };
  /** Singular-vector alignment R(0.5) over all layers: without a permutation, after WM, AM and STE. */
  alignment?: { naive: number; matched: number; am: number; ste: number };
}

/** One way of lining B up with A, and what came of it. */
interface Method {
  name: string;
  color: string;
  dashed?: boolean;
  /** B's weights after its permutation (B itself for naive). */
  b: StateDict;
  perm: Permutation | null;
  curve: InterpolationCurve;
  alignment: AlignmentResult;
}

/** Everything a finished run shows. */
interface LmcResult {
  sdA: StateDict;
  methods: Method[];
  /** The weight matrices the alignment table lists. */
  keys: string[];
  net: MLP;
  wmSweeps: number;
  steSteps: number;
}

const HIDDEN = [128, 128];
const STEPS = 400;
/**
 * STE in the page: 3 passes over the 2,000 digits in batches of 100 (60 steps, a few seconds).
 * Adam at 3e-3 rather than STE-MM's 1e-3, so that theta~ moves away from A within so few steps
 * (at 1e-3 and 2 epochs it keeps weight matching's permutation unchanged).
 */
const STE = { epochs: 3, batchSize: 100, lr: 3e-3 };

/** Share of all hidden units that two permutations send to the same place. */
function agreement(p: Permutation, q: Permutation): number {
  let same = 0;
  let all = 0;
  for (const k of Object.keys(p)) {
    const a = p[k]!;
    const b = q[k]!;
    for (let i = 0; i < a.length; i++) same += a[i] === b[i] ? 1 : 0;
    all += a.length;
  }
  return same / all;
}

/** Trains A and B, lines B up four ways (none, WM, AM, STE) and evaluates each straight line. */
async function runLmc(data: MnistSubset, state: LmcState, say: (text: string) => void): Promise<LmcResult> {
  state.phase = 'training';
  const trainers = [0, 1].map((seed) => new Trainer(data, { hidden: HIDDEN, lr: 3e-3, batchSize: 64, seed }));
  for (const [k, t] of trainers.entries()) {
    while (t.step < STEPS) {
      for (let i = 0; i < 25; i++) t.trainStep();
      say(`training model ${'AB'[k]}: step ${t.step} / ${STEPS}`);
      await nextFrame();
    }
  }
  const [a, b] = trainers.map((t) => t.model) as [MLP, MLP];
  state.phase = 'matching';
  say('weight matching…');
  await nextFrame();
  const sdA = a.stateDict({ clone: true });
  const sdB = b.stateDict({ clone: true });
  const spec = mlpPermutationSpec(a);
  const wm = weightMatching(spec, sdA, sdB, { seed: 0 });
  // activation matching: the same search, but on how alike the units' outputs are on the training digits
  const am = activationMatching(spec, a, b, [{ input: new Tensor(data.train.images) }], { features: mlpFeatureSources(spec) });
  const net = new MLP([784, ...HIDDEN, 10], { seed: 9 });

  // STE: learn the midpoint's loss down, projecting onto permutations of B by weight matching every step
  say(`straight-through estimator: ${STE.epochs} passes over the digits…`);
  await nextFrame();
  const loader = new DataLoader(new TensorDataset(data.train.images, data.train.labels), { batchSize: STE.batchSize, shuffle: true, seed: 5 });
  const epochBatches = (epoch: number) => Array.from(loader.batches(epoch), ([x, y]) => ({ input: x!, target: y! }));
  const ste = steMatching(spec, net, sdA, sdB, epochBatches, { epochs: STE.epochs, lr: STE.lr, seed: 0 });

  state.phase = 'interpolating';
  say('evaluating the straight lines, and the singular value decompositions of every weight matrix…');
  await nextFrame();
  const train = [{ input: new Tensor(data.train.images), target: data.train.labels }];
  const test = [{ input: new Tensor(data.test.images), target: data.test.labels }];
  const lambdas = linspace01(11);
  // singular-vector alignment (Ito et al.): do B's top singular directions line up with A's?
  const keys = weightMatrixKeys(spec, sdA);
  const [svdA, svdB] = [layerSVDs(sdA, keys), layerSVDs(sdB, keys)];
  const method = (name: string, color: string, perm: Permutation | null, dashed = false): Method => {
    const bAligned = perm ? applyPermutation(spec, perm, sdB) : sdB;
    return { name, color, dashed, perm, b: bAligned, curve: interpolate(sdA, bAligned, lambdas, { train, test, net }), alignment: alignmentR(spec, svdA, svdB, perm, [0.5]) };
  };
  const methods = [method('naive', '#d9534f', null), method('weight matching', '#2a7ab9', wm.perm), method('activation matching', '#3a9a4a', am.perm, true), method('STE', '#8a4fbf', ste.perm, true)];
  const [naive, wmM, amM, steM] = methods as [Method, Method, Method, Method];
  const barrier = (m: Method) => m.curve.barrier.loss.test.maxMinusMean;
  const ratio = (m: Method) => l2Distance(sdA, m.b) / l2Distance(sdA, sdB);
  Object.assign(state, {
    naiveBarrier: barrier(naive),
    matchedBarrier: barrier(wmM),
    amBarrier: barrier(amM),
    steBarrier: barrier(steM),
    distanceRatio: ratio(wmM),
    steDistanceRatio: ratio(steM),
    ste: { steps: ste.steps, agreementWithWm: agreement(ste.perm, wm.perm) },
    alignment: { naive: naive.alignment.overall[0]!, matched: wmM.alignment.overall[0]!, am: amM.alignment.overall[0]!, ste: steM.alignment.overall[0]! },
  } satisfies Partial<LmcState>);
  return { sdA, methods, keys, net, wmSweeps: wm.sweeps, steSteps: ste.steps };
}

/** Test loss and accuracy along each straight line. */
function curvePlots(methods: readonly Method[]): SVGElement[] {
  const series = (key: 'testLoss' | 'testAcc') => methods.map((m) => ({ name: m.name, color: m.color, dashed: m.dashed, points: m.curve.lambdas.map((l, i) => [l, m.curve[key][i]!] as [number, number]) }));
  return [linePlot(series('testLoss'), { title: 'test loss along (1 − λ)·A + λ·B', xLabel: 'λ', yMin: 0 }), linePlot(series('testAcc'), { title: 'test accuracy', xLabel: 'λ', yMin: 0, yMax: 1 })];
}

/** Barrier, midpoint accuracy and L2 distance per method; then the alignment per weight matrix. */
function resultTables({ sdA, methods, keys }: LmcResult): HTMLElement[] {
  return [
    h(
      'table',
      { class: 'numbers' },
      h('tr', {}, h('th', {}, ''), h('th', {}, 'loss barrier (test)'), h('th', {}, 'test loss at λ = 0.5'), h('th', {}, 'accuracy at λ = 0.5'), h('th', {}, 'L2 distance to A')),
      ...methods.map((m) => h('tr', {}, h('th', {}, m.name), h('td', {}, fmt(m.curve.barrier.loss.test.maxMinusMean)), h('td', {}, fmt(m.curve.testLoss[5]!)), h('td', {}, fmt(m.curve.testAcc[5]!)), h('td', {}, fmt(l2Distance(sdA, m.b))))),
    ),
    h('p', { class: 'hint' }, 'The barrier is the highest test loss on the line minus the mean of the two ends; when a matched line stays below both ends it is half the ends’ difference, the same for every method, and the loss at λ = 0.5 tells them apart.'),
    h('p', { class: 'hint' }, 'Singular-vector alignment R(γ = 0.5) per weight matrix (Ito et al., ICLR 2025; higher: B’s dominant singular vectors line up with A’s). Source: ', sourceLink('packages/wm/src/spectrum.ts'), '.'),
    h(
      'table',
      { class: 'numbers', id: 'lmc-alignment' },
      h('tr', {}, h('th', {}, ''), ...keys.map((k) => h('th', {}, k)), h('th', {}, 'all layers')),
      ...methods.map((m) => h('tr', {}, h('th', {}, m.name), ...keys.map((k) => h('td', {}, fmt(m.alignment.perLayer[k]![0]!))), h('td', {}, fmt(m.alignment.overall[0]!)))),
    ),
  ];
}

export function lmcView(root: HTMLElement): void {
  const run = h('button', { id: 'lmc-run' }, 'train A and B, then match');
  const progress = h('p', { class: 'stats', id: 'lmc-progress' }, 'Two MLPs (784 → 128 → 128 → 10) from seeds 0 and 1, 400 Adam steps each on 2,000 digits.');
  const plots = h('div', { class: 'plots' });
  const numbers = h('div', { id: 'lmc-numbers' });
  const slider = h('input', { id: 'lmc-lambda', type: 'range', min: 0, max: 1, step: 0.05, value: 0.5, disabled: true });
  const sliderText = h('span', {}, 'λ = 0.5');
  const predictions = h('div', { class: 'samples', id: 'lmc-samples' });
  const state: LmcState = { phase: 'idle' };
  (globalThis as { tsgradPlayground?: Record<string, unknown> }).tsgradPlayground ??= {};
  (globalThis as unknown as { tsgradPlayground: Record<string, unknown> }).tsgradPlayground.lmc = state;

  run.addEventListener('click', async () => {
    run.disabled = true;
    const data = await loadSubset();
    const result = await runLmc(data, state, (text) => (progress.textContent = text));
    const { sdA, methods, net } = result;
    plots.replaceChildren(...curvePlots(methods));
    numbers.replaceChildren(...resultTables(result));
    const naive = methods[0]!.curve;
    progress.textContent = `done: A and B reach test accuracy ${fmt(naive.testAcc[0]!)} and ${fmt(naive.testAcc[10]!)}; weight matching took ${result.wmSweeps} sweeps; STE took ${result.steSteps} steps and pairs ${fmt(100 * state.ste!.agreementWithWm)} % of the hidden units as weight matching does.`;

    // the slider loads the weight-matched model at λ and shows its guesses
    const matched = methods[1]!.b;
    const showLambda = () => {
      const l = Number(slider.value);
      sliderText.textContent = `λ = ${l.toFixed(2)}`;
      net.loadStateDict(lerpStateDicts(l, sdA, matched));
      const imgs = data.test.images.slice(0, 0, 10);
      const pred = noGrad(() => argmax(net.call(new Tensor(imgs)).data, -1).toTyped());
      const labels = data.test.labels.toTyped();
      const px = imgs.toTyped();
      predictions.replaceChildren(...Array.from({ length: 10 }, (_, k) => digitFigure(px, k, `guess ${pred[k]}`, pred[k] === labels[k])));
    };
    slider.disabled = false;
    slider.addEventListener('input', showLambda);
    showLambda();
    state.phase = 'done';
    progress.dataset.done = 'true';
  });

  root.replaceChildren(
    h('h2', {}, 'Linear mode connectivity and weight matching'),
    h(
      'p',
      { class: 'explain' },
      'Train the same network twice from different random seeds and both learn the task, but averaging their weights usually gives a broken model: the loss rises in the middle of the straight line between them (a barrier). ',
      'Part of the reason is symmetry: shuffling the hidden units of a layer (and the matching rows and columns around it) leaves the function unchanged. ',
      'Weight matching searches for the shuffle of B that makes its weights closest to A’s, layer by layer, each step a linear assignment problem; activation matching instead pairs units whose outputs agree on the training digits. ',
      'The straight-through estimator (STE) looks at the loss instead: it trains a copy of the weights so that the model halfway between A and the shuffled B does well, finding the shuffle by weight matching against that copy at every step and passing the gradient straight through the shuffle as if it were not there; it keeps the shuffle with the lowest loss it saw. ',
      'After any of the three, the straight line from A to the shuffled B often stays low. ',
      'Sources: ', sourceLink('packages/wm/src/weight-matching.ts'), ', ', sourceLink('packages/wm/src/activation-matching.ts'), ', ', sourceLink('packages/wm/src/ste.ts'), ', ', sourceLink('packages/wm/src/lap.ts'), ', ', sourceLink('packages/wm/src/interpolate.ts'), ', ', sourceLink('playground/src/views/lmc.ts'), '.',
    ),
    h('div', { class: 'controls' }, run),
    progress,
    plots,
    numbers,
    h('div', { class: 'controls' }, h('label', {}, 'weight-matched model at ', slider), sliderText),
    predictions,
  );
}
