/**
 * The training view: an MLP learns MNIST digits in the page. Steps run in short slices
 * between paints, so the plot and the steps-per-second counter stay live.
 */
import { argmax, getBackend, listBackends, registerBackend, setBackend } from '@tsgrad/tensor';
import { createGpuBackend, type GpuBackendOptions } from '@tsgrad/tensor/gpu';
import { GPU } from 'gpu.js';
import { noGrad, Tensor } from '@tsgrad/autograd';
import { fmt, h, nextFrame, sourceLink } from '../dom.ts';
import { digitFigure } from '../digits.ts';
import { loadSubset, Trainer, type MnistSubset } from '../mnist.ts';
import { linePlot } from '../plot.ts';

// In a page the gpu backend gets gpu.js's GPU class handed in (the Node entry loads the
// installed package with require, which a browser bundle cannot do).
registerBackend('gpu', () => createGpuBackend({ gpujs: GPU as unknown as NonNullable<GpuBackendOptions['gpujs']> }));

/** What the browser test reads (window.tsgradPlayground.training). */
export interface TrainingState {
  step: number;
  losses: number[];
  testAcc: [number, number][];
  stepsPerSecond: number;
  running: boolean;
  backend: string;
}

const EVAL_EVERY = 25;

export function trainingView(root: HTMLElement): void {
  const hidden = h('select', { id: 'hidden' }, ...[16, 32, 64, 128].map((n) => h('option', { value: n, selected: n === 32 }, String(n))));
  const lr = h('select', { id: 'lr' }, ...[0.03, 0.01, 0.003, 0.001].map((v) => h('option', { value: v, selected: v === 0.003 }, String(v))));
  const batch = h('select', { id: 'batch' }, ...[16, 32, 64, 128].map((n) => h('option', { value: n, selected: n === 64 }, String(n))));
  // every registered backend (the gpu.js one compiles WebGL kernels on first use)
  const backendNames: Record<string, string> = { fast: 'fast CPU', gpu: 'gpu.js (WebGL)' };
  const backend = h('select', { id: 'backend' }, ...listBackends().map((n) => h('option', { value: n, selected: n === getBackend().name }, backendNames[n] ?? n)));
  const backendNote = h('span', { class: 'hint', id: 'backend-note' });
  const start = h('button', { id: 'train-start' }, 'train');
  const pause = h('button', { id: 'train-pause', disabled: true }, 'pause');
  const reset = h('button', { id: 'train-reset' }, 'reset');
  const stats = h('p', { class: 'stats', id: 'train-stats' }, 'loading the digits…');
  const plots = h('div', { class: 'plots' });
  const samples = h('div', { class: 'samples', id: 'samples' });

  const state: TrainingState = { step: 0, losses: [], testAcc: [], stepsPerSecond: 0, running: false, backend: getBackend().name };
  (globalThis as { tsgradPlayground?: Record<string, unknown> }).tsgradPlayground ??= {};
  (globalThis as unknown as { tsgradPlayground: Record<string, unknown> }).tsgradPlayground.training = state;

  let data: MnistSubset | undefined;
  let trainer: Trainer | undefined;
  let smoothed: [number, number][] = [];

  const fresh = () => {
    trainer = new Trainer(data!, { hidden: [Number(hidden.value)], lr: Number(lr.value), batchSize: Number(batch.value), seed: 0 });
    Object.assign(state, { step: 0, losses: [], testAcc: [], stepsPerSecond: 0 });
    smoothed = [];
    state.testAcc.push([0, trainer.evaluate().acc]);
    draw();
  };

  const draw = () => {
    plots.replaceChildren(
      linePlot([{ name: 'train loss (avg of 10)', color: '#d9534f', points: smoothed }], { title: 'loss', xLabel: 'step', yMin: 0 }),
      linePlot([{ name: 'test accuracy', color: '#2a7ab9', points: state.testAcc }], { title: 'test accuracy', xLabel: 'step', yMin: 0, yMax: 1 }),
    );
    const last = state.testAcc.at(-1);
    stats.textContent = `step ${state.step} · loss ${state.losses.length ? fmt(state.losses.at(-1)!) : '–'} · test accuracy ${last ? fmt(last[1]) : '–'} · ${fmt(state.stepsPerSecond)} steps/s`;
    stats.dataset.step = String(state.step);
    drawSamples();
  };

  // eight test digits with the model's current guess (green when right)
  const drawSamples = () => {
    if (!data || !trainer) return;
    const n = 8;
    const imgs = data.test.images.slice(0, 0, n);
    const pred = noGrad(() => argmax(trainer!.model.call(new Tensor(imgs)).data, -1).toTyped());
    const labels = data.test.labels.toTyped();
    const px = imgs.toTyped();
    samples.replaceChildren(
      ...Array.from({ length: n }, (_, k) => digitFigure(px, k, `guess ${pred[k]}`, pred[k] === labels[k])),
    );
  };

  const loop = async () => {
    while (state.running && trainer) {
      const t0 = performance.now();
      let n = 0;
      // a slice of ~80 ms of steps, then let the page paint
      while (performance.now() - t0 < 80) {
        const { loss } = trainer.trainStep();
        state.losses.push(loss);
        state.step = trainer.step;
        const window = state.losses.slice(-10);
        smoothed.push([state.step, window.reduce((a, b) => a + b, 0) / window.length]);
        n++;
        if (state.step % EVAL_EVERY === 0) state.testAcc.push([state.step, trainer.evaluate().acc]);
      }
      state.stepsPerSecond = n / ((performance.now() - t0) / 1000);
      draw();
      await nextFrame();
    }
  };

  start.addEventListener('click', () => {
    if (!trainer || state.running) return;
    state.running = true;
    start.disabled = true;
    pause.disabled = false;
    void loop();
  });
  pause.addEventListener('click', () => {
    state.running = false;
    start.disabled = false;
    pause.disabled = true;
  });
  const stopAndReset = () => {
    state.running = false;
    start.disabled = false;
    pause.disabled = true;
    if (data) fresh();
  };
  reset.addEventListener('click', stopAndReset);
  for (const sel of [hidden, lr, batch]) sel.addEventListener('change', stopAndReset);
  backend.addEventListener('change', () => {
    const previous = getBackend().name;
    try {
      const started = performance.now();
      setBackend(backend.value);
      backendNote.textContent = `${getBackend().name} backend ready in ${fmt(performance.now() - started)} ms`;
    } catch (e) {
      backendNote.textContent = (e as Error).message;
      setBackend(previous);
      backend.value = previous;
    }
    state.backend = getBackend().name;
    stopAndReset();
  });

  root.replaceChildren(
    h('h2', {}, 'Training: an MLP learns handwritten digits'),
    h(
      'p',
      { class: 'explain' },
      'Each step takes a batch of 28×28 digits, runs them through the network (784 inputs → hidden ReLU layer → 10 scores), measures the cross-entropy between the scores and the true digit, ',
      'backpropagates, and lets Adam nudge every weight. The loss is what the step minimises; test accuracy is measured on digits the model never trains on. ',
      'Everything runs in this tab, on tsgrad’s fast CPU backend or on gpu.js kernels compiled to WebGL shaders. Sources: ', sourceLink('packages/nn/src/layers/mlp.ts'), ', ', sourceLink('packages/nn/src/losses.ts'), ', ',
      sourceLink('packages/nn/src/optim/adam.ts'), ', ', sourceLink('packages/tensor/src/backends/registry.ts'), ', ', sourceLink('playground/src/mnist.ts'), '.',
    ),
    h('div', { class: 'controls' }, h('label', {}, 'hidden units ', hidden), h('label', {}, 'learning rate ', lr), h('label', {}, 'batch ', batch), h('label', {}, 'backend ', backend), start, pause, reset, backendNote),
    stats,
    plots,
    h('p', { class: 'hint' }, 'Test digits and the model’s current guess:'),
    samples,
  );

  void loadSubset().then((d) => {
    data = d;
    fresh();
    stats.dataset.ready = 'true';
  }).catch((e: Error) => (stats.textContent = `could not load the digits: ${e.message}`));
}
