/**
 * The fine-tuning tasks of the EVA reproduction, each as: pretrain a base model on one
 * distribution (cached in the output folder, shared by the tasks of a modality), then
 * hand out fresh copies of it for LoRA fine-tuning on another.
 *
 *  - language (`names-f`, `names-m`, `names`): a character GPT pretrained on Moby Dick,
 *    fine-tuned on a first-names list (female, male, or both), LoRA on every Linear of
 *    the blocks and the LM head;
 *  - vision (`mnist-5to9`, `mnist-all`): an MLP pretrained on MNIST digits 0-4,
 *    fine-tuned on digits 5-9 (5-way) or on all ten digits (10-way), LoRA on the body and
 *    a new classifier head that trains fully (PEFT's modules_to_save).
 *
 * Every task has three disjoint parts of its fine-tuning data: train (batches and EVA's
 * batches), validation (chooses the learning rate) and test (the reported loss).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad, Tensor } from '@tsgrad/autograd';
import type { EvaBatch } from '@tsgrad/eva';
import {
  AdamW,
  CharTokenizer,
  crossEntropy,
  GPT,
  Linear,
  loadCorpus,
  loadMnist,
  loadSafetensors,
  LRScheduler,
  MLP,
  saveSafetensors,
  splitTokens,
  TextDataset,
  warmupCosine,
  type AnyModule,
} from '@tsgrad/nn';
import { NDArray, Rng } from '@tsgrad/tensor';
import { Progress } from '../lib/progress.ts';

/** One fine-tuning task as the experiment loop sees it. */
export interface Task {
  /** Task id, e.g. `names-f` or `mnist-5to9`. */
  name: string;
  modality: 'language' | 'vision';
  /** LoRA target module names (PEFT suffix semantics). */
  targets: string[];
  /** Modules that train fully and are saved with the adapter. */
  modulesToSave: string[];
  /** A fresh copy of the pretrained model ready for LoRA (new head for vision, drawn from `seed`). */
  makeModel(seed: number): AnyModule;
  /** The fine-tuning batch of a step (a pure function of seed and step). */
  trainBatch(seed: number, step: number): [NDArray, NDArray];
  /**
   * Batches EVA's incremental PCA reads, drawn lazily from the fine-tuning training data
   * without end (EVA stops at convergence or its `maxBatches`); the same sequence on every
   * iteration. `batchSize` overrides the preset's.
   */
  evaBatches(seed: number, batchSize?: number): Iterable<EvaBatch>;
  /** Training loss of a batch. */
  loss(model: AnyModule, batch: [NDArray, NDArray]): Tensor;
  /** Mean loss on the fixed test set (the reported number). */
  evalLoss(model: AnyModule): number;
  /** Mean loss on the fixed validation set (chooses the learning rate). */
  valLoss(model: AnyModule): number;
  /** What was done to get the base model, for the report. */
  pretrainSummary: string;
  /** Short description of the data, for the report. */
  dataSummary: string;
}

export interface LanguageConfig {
  dModel: number;
  nHeads: number;
  nLayers: number;
  contextLength: number;
  pretrainSteps: number;
  pretrainBatch: number;
  pretrainLr: number;
  batchSize: number;
  evalBatches: number;
  evaBatchSize: number;
}

export interface VisionConfig {
  hidden: number[];
  pretrainEpochs: number;
  pretrainBatch: number;
  pretrainLr: number;
  batchSize: number;
  evaBatchSize: number;
}

function meanLoss(fn: () => number[]): number {
  const v = fn();
  return v.reduce((a, b) => a + b, 0) / v.length;
}

function tensorOf(a: NDArray): Tensor {
  return new Tensor(a);
}

/** Loads cached pretrained weights when the file exists and was made by the same config. */
function cachedPretrain(model: AnyModule, path: string, key: string, train: () => void): 'cached' | 'trained' {
  if (existsSync(path)) {
    try {
      const { tensors, metadata } = loadSafetensors(path);
      if (metadata['config'] === key) {
        model.loadStateDict(tensors);
        return 'cached';
      }
    } catch {
      // fall through and retrain
    }
  }
  train();
  saveSafetensors(path, model.stateDict(), { config: key });
  return 'trained';
}

/** The name lists a language task can fine-tune on. */
export const LANGUAGE_TARGETS = { 'names-f': 'female-first-names', 'names-m': 'male-first-names', names: 'first-names' } as const;

/** `count` fixed windows evenly spaced over a dataset, in batches of `batch`. */
function fixedWindows(ds: TextDataset, count: number, batch: number): [NDArray, NDArray][] {
  const starts = Array.from({ length: count * batch }, (_, i) => Math.floor((i * (ds.length - 1)) / Math.max(1, count * batch - 1)));
  return Array.from({ length: count }, (_, b) => ds.getBatch(starts.slice(b * batch, (b + 1) * batch)));
}

/**
 * Character GPT: pretrain on Moby Dick, fine-tune on a first-names list.
 * @example const task = languageTask(cfg, 'names-f', outDir);
 */
export function languageTask(cfg: LanguageConfig, which: keyof typeof LANGUAGE_TARGETS, cacheDir: string): Task {
  const source = loadCorpus('moby-dick');
  const target = loadCorpus(LANGUAGE_TARGETS[which]);
  // one vocabulary for every names task, so they all share one pretrained base
  const tok = new CharTokenizer(source + loadCorpus('first-names'));
  const srcIds = splitTokens(tok.encode(source), 0.95);
  // Names are sorted alphabetically: shuffle the lines (seeded) so the parts cover the
  // same letters; 70% train, 15% validation, 15% test, split by line.
  const lines = target.split('\n').filter((l) => l.length > 0);
  const perm = new Rng(1234).permutation(lines.length);
  const part = (a: number, b: number) => tok.encode(Array.from(perm.subarray(Math.floor(a * lines.length), Math.floor(b * lines.length)), (i) => `${lines[i]}\n`).join(''));
  const T = cfg.contextLength;
  const srcData = new TextDataset(srcIds.train, T);
  const tgtTrain = new TextDataset(part(0, 0.7), T);
  const valSet = fixedWindows(new TextDataset(part(0.7, 0.85), T), cfg.evalBatches, cfg.batchSize);
  const evalSet = fixedWindows(new TextDataset(part(0.85, 1), T), cfg.evalBatches, cfg.batchSize);

  const gptConfig = { vocabSize: tok.vocabSize, contextLength: T, dModel: cfg.dModel, nHeads: cfg.nHeads, nLayers: cfg.nLayers, seed: 0 };
  const base = new GPT(gptConfig);
  const key = JSON.stringify({ task: 'language-v2', gptConfig, steps: cfg.pretrainSteps, batch: cfg.pretrainBatch, lr: cfg.pretrainLr });
  const loss = (m: AnyModule, [x, y]: [NDArray, NDArray]) => crossEntropy(m.call(tensorOf(x)), y);
  const how = cachedPretrain(base, join(cacheDir, 'pretrained-language.safetensors'), key, () => {
    const opt = new AdamW(base.parameters(), { lr: cfg.pretrainLr, weightDecay: 0.01 });
    const sched = new LRScheduler(opt, warmupCosine({ warmupSteps: Math.round(cfg.pretrainSteps * 0.05), totalSteps: cfg.pretrainSteps, minFactor: 0.1 }));
    const rng = new Rng(0);
    const progress = new Progress(cfg.pretrainSteps, { label: 'pretrain GPT on moby-dick' });
    for (let s = 0; s < cfg.pretrainSteps; s++) {
      const l = loss(base, srcData.sample(cfg.pretrainBatch, rng));
      opt.zeroGrad();
      l.backward();
      opt.step();
      sched.step();
      progress.tick(1, { loss: l.item() });
    }
    progress.stop();
  });
  const setLoss = (set: [NDArray, NDArray][]) => (m: AnyModule) => {
    const was = [...m.modules()].map((x) => x.training);
    m.eval();
    const v = noGrad(() => meanLoss(() => set.map((b) => loss(m, b).item())));
    [...m.modules()].forEach((x, i) => (x.training = was[i]!));
    return v;
  };
  const evalLoss = setLoss(evalSet);
  const sourceLoss = setLoss(fixedWindows(new TextDataset(srcIds.val, T), cfg.evalBatches, cfg.batchSize))(base);
  const pretrainFinal = evalLoss(base);
  const baseState = base.stateDict({ clone: true });
  return {
    name: which,
    modality: 'language',
    targets: ['q_proj', 'k_proj', 'v_proj', 'out_proj', 'fc1', 'fc2', 'lm_head'],
    modulesToSave: [],
    makeModel: () => {
      const m = new GPT(gptConfig);
      m.loadStateDict(baseState);
      return m;
    },
    trainBatch: (seed, step) => tgtTrain.sample(cfg.batchSize, new Rng(seed * 1_000_003 + step * 7919 + 17)),
    evaBatches: (seed, batchSize = cfg.evaBatchSize) => endless(seed, (rng) => ({ input: tensorOf(tgtTrain.sample(batchSize, rng)[0]) })),
    loss,
    evalLoss,
    valLoss: setLoss(valSet),
    pretrainSummary:
      `GPT (${cfg.nLayers} blocks, d=${cfg.dModel}, ${cfg.nHeads} heads, context ${T}, vocab ${tok.vocabSize}, ${base.numParameters()} parameters) ` +
      `${how === 'cached' ? 'loaded from the cache of an earlier identical run' : 'pretrained'}: ${cfg.pretrainSteps} AdamW steps of batch ${cfg.pretrainBatch} on Moby Dick ` +
      `(lr ${cfg.pretrainLr}, warm-up + cosine); held-out Moby Dick loss ${sourceLoss.toFixed(3)}, test-names loss before fine-tuning ${pretrainFinal.toFixed(3)}.`,
    dataSummary: `fine-tuning corpus: ${LANGUAGE_TARGETS[which]} (${lines.length} names, lines shuffled with a fixed seed; 70% train, 15% validation, 15% test), windows of ${T} characters, batch ${cfg.batchSize}; validation and test losses on ${cfg.evalBatches * cfg.batchSize} fixed windows each.`,
  };
}

/** The digit sets a vision task can fine-tune on (all with a new head over those digits). */
export const VISION_TARGETS = { 'mnist-5to9': [5, 6, 7, 8, 9], 'mnist-all': [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] } as const;

/**
 * MLP: pretrain on MNIST 0-4, fine-tune on a digit set with a new head.
 * @example const task = visionTask(cfg, 'mnist-5to9', outDir);
 */
export function visionTask(cfg: VisionConfig, which: keyof typeof VISION_TARGETS, cacheDir: string): Task {
  const digits = VISION_TARGETS[which];
  const pre = loadMnist({ seed: 0, digits: [0, 1, 2, 3, 4] });
  const fine = loadMnist({ seed: 0, digits });
  const sizes = [784, ...cfg.hidden, 10];
  const base = new MLP(sizes, { activation: 'relu', seed: 0 });
  const headIndex = sizes.length - 2;
  const key = JSON.stringify({ task: 'vision-v1', sizes, epochs: cfg.pretrainEpochs, batch: cfg.pretrainBatch, lr: cfg.pretrainLr });
  const ce = (m: AnyModule, x: NDArray, y: NDArray) => crossEntropy(m.call(tensorOf(x)), y);
  const how = cachedPretrain(base, join(cacheDir, 'pretrained-vision.safetensors'), key, () => {
    const n = pre.train.images.shape[0]!;
    const steps = cfg.pretrainEpochs * Math.floor(n / cfg.pretrainBatch);
    const opt = new AdamW(base.parameters(), { lr: cfg.pretrainLr, weightDecay: 0.01 });
    const sched = new LRScheduler(opt, warmupCosine({ warmupSteps: Math.round(steps * 0.05), totalSteps: steps, minFactor: 0.1 }));
    const progress = new Progress(steps, { label: 'pretrain MLP on MNIST 0-4', itemsPerStep: cfg.pretrainBatch, itemName: 'img' });
    const rng = new Rng(0);
    for (let e = 0; e < cfg.pretrainEpochs; e++) {
      const order = rng.permutation(n);
      for (let b = 0; b + cfg.pretrainBatch <= n; b += cfg.pretrainBatch) {
        const idx = order.subarray(b, b + cfg.pretrainBatch);
        const l = ce(base, rowsOf(pre.train.images, idx), rowsOf(pre.train.labels, idx));
        opt.zeroGrad();
        l.backward();
        opt.step();
        sched.step();
        progress.tick(1, { loss: l.item() });
      }
    }
    progress.stop();
  });
  const preAcc = noGrad(() => {
    const pred = base.call(tensorOf(pre.test.images)).argmax(1).data.toFloat64Array();
    const lab = pre.test.labels.toFloat64Array();
    let hits = 0;
    for (let i = 0; i < pred.length; i++) if (pred[i] === lab[i]) hits++;
    return hits / pred.length;
  });
  const baseState = base.stateDict({ clone: true });
  // labels d -> index of d in the task's digit list, for the new head
  const classOf = new Map<number, number>(digits.map((d, i) => [d, i]));
  const relabel = (l: NDArray) => NDArray.fromTyped(Int32Array.from(l.toTyped(), (v) => classOf.get(v)!), [l.size], 'int32');
  // the last 15% of the (shuffled) training digits are the validation set
  const nAll = fine.train.images.shape[0]!;
  const nVal = Math.round(0.15 * nAll);
  const nFine = nAll - nVal;
  const trainIdx = Int32Array.from({ length: nFine }, (_, i) => i);
  const valIdx = Int32Array.from({ length: nVal }, (_, i) => nFine + i);
  const trainX = rowsOf(fine.train.images, trainIdx);
  const trainY = relabel(rowsOf(fine.train.labels, trainIdx));
  const valX = rowsOf(fine.train.images, valIdx);
  const valY = relabel(rowsOf(fine.train.labels, valIdx));
  const testY = relabel(fine.test.labels);
  return {
    name: which,
    modality: 'vision',
    targets: Array.from({ length: headIndex }, (_, i) => `layers.${i}`),
    modulesToSave: [`layers.${headIndex}`],
    makeModel: (seed) => {
      const m = new MLP(sizes, { activation: 'relu', seed: 0 });
      m.loadStateDict(baseState);
      m.setSubmodule(`layers.${headIndex}`, new Linear(sizes[headIndex]!, digits.length, { seed: 1000 + seed }));
      return m;
    },
    trainBatch: (seed, step) => {
      const idx = new Rng(seed * 1_000_003 + step * 7919 + 17).choice(nFine, cfg.batchSize);
      return [rowsOf(trainX, idx), rowsOf(trainY, idx)];
    },
    evaBatches: (seed, batchSize = cfg.evaBatchSize) => endless(seed, (rng) => ({ input: tensorOf(rowsOf(trainX, rng.choice(nFine, batchSize))) })),
    loss: (m, [x, y]) => ce(m, x, y),
    evalLoss: (m) => noGrad(() => ce(m, fine.test.images, testY).item()),
    valLoss: (m) => noGrad(() => ce(m, valX, valY).item()),
    pretrainSummary:
      `MLP ${sizes.join('-')} (ReLU, ${base.numParameters()} parameters) ${how === 'cached' ? 'loaded from the cache of an earlier identical run' : 'pretrained'}: ${cfg.pretrainEpochs} epochs of AdamW (batch ${cfg.pretrainBatch}, lr ${cfg.pretrainLr}) ` +
      `on the ${pre.train.images.shape[0]} training digits 0-4; test accuracy on digits 0-4: ${preAcc.toFixed(3)}.`,
    dataSummary: `fine-tuning data: digits ${digits.join(',')} as classes of a new ${digits.length}-way head; ${nFine} training and ${nVal} validation digits (from loadMnist's training split), batch ${cfg.batchSize}; test loss on the ${fine.test.images.shape[0]} test digits.`,
  };
}

/** An endless, re-iterable stream of batches: each iteration restarts the seeded draw. */
function endless(seed: number, draw: (rng: Rng) => EvaBatch): Iterable<EvaBatch> {
  return {
    *[Symbol.iterator]() {
      const rng = new Rng(seed + 4242);
      for (;;) yield draw(rng);
    },
  };
}

function rowsOf(a: NDArray, idx: ArrayLike<number>): NDArray {
  const row = a.size / a.shape[0]!;
  const src = a.contiguous().data;
  const out = NDArray.zeros([idx.length, ...a.shape.slice(1)], a.dtype);
  for (let i = 0; i < idx.length; i++) out.data.set(src.subarray(idx[i]! * row, (idx[i]! + 1) * row), i * row);
  return out;
}
