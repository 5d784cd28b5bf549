/**
 * The two fine-tuning tasks of the EVA reproduction, each as: pretrain a base model on
 * one distribution, then hand out fresh copies of it for LoRA fine-tuning on another.
 *
 *  - language: a character-level GPT pretrained on Moby Dick, fine-tuned on the
 *    first-names list (one name per line), LoRA on every Linear of the blocks and the
 *    LM head;
 *  - vision: an MLP pretrained on MNIST digits 0-4, fine-tuned on digits 5-9 with LoRA
 *    on the body and a new classifier head that trains fully (PEFT's modules_to_save).
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
  name: 'language' | 'vision';
  /** LoRA target module names (PEFT suffix semantics). */
  targets: string[];
  /** Modules that train fully and are saved with the adapter. */
  modulesToSave: string[];
  /** A fresh copy of the pretrained model ready for LoRA (new head for vision, drawn from `seed`). */
  makeModel(seed: number): AnyModule;
  /** The fine-tuning batch of a step (a pure function of seed and step). */
  trainBatch(seed: number, step: number): [NDArray, NDArray];
  /** Batches EVA's incremental PCA reads (from the fine-tuning training data). */
  evaBatches(seed: number): EvaBatch[];
  /** Training loss of a batch. */
  loss(model: AnyModule, batch: [NDArray, NDArray]): Tensor;
  /** Mean loss on the fixed held-out set. */
  evalLoss(model: AnyModule): number;
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
  evaBatches: number;
}

export interface VisionConfig {
  hidden: number[];
  pretrainEpochs: number;
  pretrainBatch: number;
  pretrainLr: number;
  batchSize: number;
  evaBatchSize: number;
  evaBatches: number;
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

/**
 * Character GPT: pretrain on Moby Dick, fine-tune on first names.
 * @example const task = languageTask(cfg, outDir);
 */
export function languageTask(cfg: LanguageConfig, cacheDir: string): Task {
  const source = loadCorpus('moby-dick');
  const target = loadCorpus('first-names');
  const tok = new CharTokenizer(source + target);
  const srcIds = splitTokens(tok.encode(source), 0.95);
  // Names are sorted alphabetically: shuffle the lines (seeded) so train and held-out
  // parts cover the same letters.
  const lines = target.split('\n').filter((l) => l.length > 0);
  const perm = new Rng(1234).permutation(lines.length);
  const shuffled = Array.from(perm, (i) => `${lines[i]}\n`).join('');
  const tgtIds = splitTokens(tok.encode(shuffled), 0.85);
  const T = cfg.contextLength;
  const srcData = new TextDataset(srcIds.train, T);
  const tgtTrain = new TextDataset(tgtIds.train, T);
  const tgtVal = new TextDataset(tgtIds.val, T);
  // fixed held-out windows (evenly spaced)
  const evalStarts = Array.from({ length: cfg.evalBatches * cfg.batchSize }, (_, i) =>
    Math.floor((i * (tgtVal.length - 1)) / Math.max(1, cfg.evalBatches * cfg.batchSize - 1)),
  );
  const evalSet = Array.from({ length: cfg.evalBatches }, (_, b) => tgtVal.getBatch(evalStarts.slice(b * cfg.batchSize, (b + 1) * cfg.batchSize)));

  const gptConfig = { vocabSize: tok.vocabSize, contextLength: T, dModel: cfg.dModel, nHeads: cfg.nHeads, nLayers: cfg.nLayers, seed: 0 };
  const base = new GPT(gptConfig);
  const key = JSON.stringify({ task: 'language-v1', gptConfig, steps: cfg.pretrainSteps, batch: cfg.pretrainBatch, lr: cfg.pretrainLr });
  const loss = (m: AnyModule, [x, y]: [NDArray, NDArray]) => crossEntropy(m.call(tensorOf(x)), y);
  let pretrainFinal = NaN;
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
  const evalLoss = (m: AnyModule) => {
    const was = [...m.modules()].map((x) => x.training);
    m.eval();
    const v = noGrad(() => meanLoss(() => evalSet.map((b) => loss(m, b).item())));
    [...m.modules()].forEach((x, i) => (x.training = was[i]!));
    return v;
  };
  pretrainFinal = evalLoss(base);
  const baseState = base.stateDict({ clone: true });
  return {
    name: 'language',
    targets: ['q_proj', 'k_proj', 'v_proj', 'out_proj', 'fc1', 'fc2', 'lm_head'],
    modulesToSave: [],
    makeModel: () => {
      const m = new GPT(gptConfig);
      m.loadStateDict(baseState);
      return m;
    },
    trainBatch: (seed, step) => tgtTrain.sample(cfg.batchSize, new Rng(seed * 1_000_003 + step * 7919 + 17)),
    evaBatches: (seed) => {
      const rng = new Rng(seed + 4242);
      return Array.from({ length: cfg.evaBatches }, () => ({ input: tensorOf(tgtTrain.sample(cfg.evaBatchSize, rng)[0]) }));
    },
    loss,
    evalLoss,
    pretrainSummary:
      `GPT (${cfg.nLayers} blocks, d=${cfg.dModel}, ${cfg.nHeads} heads, context ${T}, vocab ${tok.vocabSize}, ${base.numParameters()} parameters) ` +
      `${how === 'cached' ? 'loaded from the cache of an earlier identical run' : 'pretrained'}: ${cfg.pretrainSteps} AdamW steps of batch ${cfg.pretrainBatch} on Moby Dick ` +
      `(lr ${cfg.pretrainLr}, warm-up + cosine); its loss on the held-out names before fine-tuning is ${pretrainFinal.toFixed(3)}.`,
    dataSummary: `fine-tuning corpus: the first-names list (${lines.length} names, lines shuffled with a fixed seed; 85% train, 15% held out), windows of ${T} characters, batch ${cfg.batchSize}; held-out loss on ${cfg.evalBatches * cfg.batchSize} fixed windows.`,
  };
}

/**
 * MLP: pretrain on MNIST 0-4, fine-tune on 5-9 with a new 5-way head.
 * @example const task = visionTask(cfg, outDir);
 */
export function visionTask(cfg: VisionConfig, cacheDir: string): Task {
  const pre = loadMnist({ seed: 0, digits: [0, 1, 2, 3, 4] });
  const fine = loadMnist({ seed: 0, digits: [5, 6, 7, 8, 9] });
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
  // fine-tuning labels 5..9 -> 0..4 for the new 5-way head
  const shift = (l: NDArray) => NDArray.fromTyped(Int32Array.from(l.toTyped(), (v) => v - 5), [l.size], 'int32');
  const fineTrainY = shift(fine.train.labels);
  const fineTestY = shift(fine.test.labels);
  const nFine = fine.train.images.shape[0]!;
  const evalLoss = (m: AnyModule) => noGrad(() => ce(m, fine.test.images, fineTestY).item());
  return {
    name: 'vision',
    targets: Array.from({ length: headIndex }, (_, i) => `layers.${i}`),
    modulesToSave: [`layers.${headIndex}`],
    makeModel: (seed) => {
      const m = new MLP(sizes, { activation: 'relu', seed: 0 });
      m.loadStateDict(baseState);
      m.setSubmodule(`layers.${headIndex}`, new Linear(sizes[headIndex]!, 5, { seed: 1000 + seed }));
      return m;
    },
    trainBatch: (seed, step) => {
      const idx = new Rng(seed * 1_000_003 + step * 7919 + 17).choice(nFine, cfg.batchSize);
      return [rowsOf(fine.train.images, idx), rowsOf(fineTrainY, idx)];
    },
    evaBatches: (seed) => {
      const rng = new Rng(seed + 4242);
      return Array.from({ length: cfg.evaBatches }, () => ({ input: tensorOf(rowsOf(fine.train.images, rng.choice(nFine, cfg.evaBatchSize))) }));
    },
    loss: (m, [x, y]) => ce(m, x, y),
    evalLoss,
    pretrainSummary:
      `MLP ${sizes.join('-')} (ReLU) ${how === 'cached' ? 'loaded from the cache of an earlier identical run' : 'pretrained'}: ${cfg.pretrainEpochs} epochs of AdamW (batch ${cfg.pretrainBatch}, lr ${cfg.pretrainLr}) ` +
      `on the ${pre.train.images.shape[0]} training digits 0-4; test accuracy on digits 0-4: ${preAcc.toFixed(3)}.`,
    dataSummary: `fine-tuning data: the ${nFine} training digits 5-9 (labels 5-9 as classes 0-4 of a new head), batch ${cfg.batchSize}; held-out loss on the ${fine.test.images.shape[0]} test digits 5-9.`,
  };
}

function rowsOf(a: NDArray, idx: ArrayLike<number>): NDArray {
  const row = a.size / a.shape[0]!;
  const src = a.contiguous().data;
  const out = NDArray.zeros([idx.length, ...a.shape.slice(1)], a.dtype);
  for (let i = 0; i < idx.length; i++) out.data.set(src.subarray(idx[i]! * row, (idx[i]! + 1) * row), i * row);
  return out;
}
