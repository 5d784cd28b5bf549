/**
 * Training the endpoints of the WM reproduction: ReLU MLPs on the MNIST split and tiny
 * character GPTs on the first-names corpus, each from its own seed (init and data order).
 */
import { Tensor } from '@tsgrad/autograd';
import { Adam, CharTokenizer, crossEntropy, DataLoader, GPT, loadCorpus, MLP, TensorDataset } from '@tsgrad/nn';
import { NDArray, Rng } from '@tsgrad/tensor';
import { evaluate, type ArrayBatch as Batch } from '@tsgrad/wm';
import { Progress } from '../lib/progress.ts';

export interface MlpTrainConfig {
  widths: readonly number[];
  epochs: number;
  batchSize: number;
  lr: number;
}

/** Shuffled minibatches of one epoch (seeded by `seed` and the epoch). */
export function epochBatches(images: NDArray, labels: NDArray, batchSize: number, seed: number, epoch: number): Batch[] {
  const loader = new DataLoader(new TensorDataset(images, labels), { batchSize, shuffle: true, seed });
  const out: Batch[] = [];
  for (const [x, y] of loader.batches(epoch)) out.push({ input: x!, target: y! });
  return out;
}

/** An MLP trained with Adam on (images, labels); returns the model and its wall time. */
export function trainMlp(
  seed: number,
  cfg: MlpTrainConfig,
  images: NDArray,
  labels: NDArray,
  label: string,
): { model: MLP; seconds: number; finalLoss: number } {
  const model = new MLP(cfg.widths, { activation: 'relu', seed });
  const opt = new Adam(model.parameters(), { lr: cfg.lr });
  const steps = cfg.epochs * Math.ceil(images.shape[0]! / cfg.batchSize);
  const progress = new Progress(steps, { label, itemsPerStep: cfg.batchSize, itemName: 'ex' });
  const t0 = Date.now();
  let step = 0;
  let finalLoss = NaN;
  for (let epoch = 0; epoch < cfg.epochs; epoch++) {
    for (const b of epochBatches(images, labels, cfg.batchSize, seed, epoch)) {
      const loss = crossEntropy(model.call(new Tensor(b.input)), b.target);
      loss.backward();
      opt.step();
      opt.zeroGrad();
      finalLoss = loss.item();
      progress.update(++step, { loss: finalLoss, epoch: epoch + 1 });
    }
  }
  progress.stop();
  return { model, seconds: (Date.now() - t0) / 1000, finalLoss };
}

export interface GptTrainConfig {
  dModel: number;
  nHeads: number;
  nLayers: number;
  contextLength: number;
  batchSize: number;
  /** Upper bound on Adam steps; training stops earlier when validation loss stops improving. */
  maxSteps: number;
  /** Steps between validation evaluations. */
  evalEvery: number;
  /** Evaluations without a new best validation loss before stopping (the best weights are kept). */
  patience: number;
  /**
   * A new best counts as progress (resets the patience) only if it is at least this much below the
   * loss of the last progress (Keras's min_delta); the weights of the lowest loss are kept either way.
   */
  minDelta: number;
  lr: number;
  /** Windows used for each evaluation set. */
  evalWindows: number;
}

export interface CharData {
  tokenizer: CharTokenizer;
  train: Int32Array;
  val: Int32Array;
}

/** The first-names corpus with its lines in a seeded random order (it ships sorted), split 90/10. */
export function charData(seed: number): CharData {
  const text = loadCorpus('first-names');
  const lines = text.split('\n').filter((l) => l.length > 0);
  const order = new Rng(seed).permutation(lines.length);
  const shuffled = Array.from(order, (i) => lines[i]!).join('\n') + '\n';
  const tokenizer = CharTokenizer.fromText(shuffled);
  const ids = tokenizer.encode(shuffled);
  const cut = Math.round(ids.length * 0.9);
  return { tokenizer, train: ids.subarray(0, cut), val: ids.subarray(cut) };
}

/** Non-overlapping next-token windows from the start of `tokens` (deterministic evaluation batches). */
export function windowBatches(tokens: Int32Array, contextLength: number, windows: number, batchSize: number): Batch[] {
  const out: Batch[] = [];
  const maxWindows = Math.min(windows, Math.floor((tokens.length - 1) / contextLength));
  for (let w0 = 0; w0 < maxWindows; w0 += batchSize) {
    const n = Math.min(batchSize, maxWindows - w0);
    const x = new Int32Array(n * contextLength);
    const y = new Int32Array(n * contextLength);
    for (let b = 0; b < n; b++) {
      const s = (w0 + b) * contextLength;
      x.set(tokens.subarray(s, s + contextLength), b * contextLength);
      y.set(tokens.subarray(s + 1, s + contextLength + 1), b * contextLength);
    }
    out.push({ input: NDArray.fromTyped(x, [n, contextLength], 'int32'), target: NDArray.fromTyped(y, [n, contextLength], 'int32') });
  }
  return out;
}

/** One point of a GPT's validation curve. */
export interface ValPoint {
  step: number;
  trainLoss: number;
  valLoss: number;
}

/**
 * A GPT trained with Adam on random windows of `data.train` (init and window order from `seed`)
 * until the validation loss has not improved by `minDelta` for `patience` evaluations (or
 * `maxSteps`); the weights of the best evaluation are returned, with the whole curve.
 */
export function trainGpt(seed: number, cfg: GptTrainConfig, data: CharData, label: string): { model: GPT; seconds: number; curve: ValPoint[]; bestStep: number; stoppedEarly: boolean } {
  const model = new GPT({
    vocabSize: data.tokenizer.vocabSize,
    contextLength: cfg.contextLength,
    dModel: cfg.dModel,
    nHeads: cfg.nHeads,
    nLayers: cfg.nLayers,
    seed,
  });
  const opt = new Adam(model.parameters(), { lr: cfg.lr });
  const rng = new Rng(1000 + seed);
  const n = data.train.length - cfg.contextLength - 1;
  const val = windowBatches(data.val, cfg.contextLength, cfg.evalWindows, 32);
  const progress = new Progress(cfg.maxSteps, { label, itemsPerStep: cfg.batchSize * cfg.contextLength, itemName: 'tok' });
  const t0 = Date.now();
  const curve: ValPoint[] = [];
  let best = { loss: Infinity, step: 0, weights: model.stateDict({ clone: true }) };
  let anchor = Infinity; // validation loss at the last evaluation that counted as progress
  let sinceBest = 0;
  let recent = 0;
  let stoppedEarly = false;
  for (let step = 1; step <= cfg.maxSteps; step++) {
    const x = new Int32Array(cfg.batchSize * cfg.contextLength);
    const y = new Int32Array(cfg.batchSize * cfg.contextLength);
    for (let b = 0; b < cfg.batchSize; b++) {
      const s = rng.int(0, n);
      x.set(data.train.subarray(s, s + cfg.contextLength), b * cfg.contextLength);
      y.set(data.train.subarray(s + 1, s + cfg.contextLength + 1), b * cfg.contextLength);
    }
    const shape = [cfg.batchSize, cfg.contextLength];
    const logits = model.call(new Tensor(NDArray.fromTyped(x, shape, 'int32')));
    const loss = crossEntropy(logits, NDArray.fromTyped(y, shape, 'int32'));
    loss.backward();
    opt.step();
    opt.zeroGrad();
    recent += loss.item();
    progress.update(step, { loss: loss.item(), best: best.loss });
    if (step % cfg.evalEvery !== 0 && step !== cfg.maxSteps) continue;
    const valLoss = evaluate(model, val).loss;
    curve.push({ step, trainLoss: recent / (step - (curve.at(-1)?.step ?? 0)), valLoss });
    recent = 0;
    if (valLoss < best.loss) best = { loss: valLoss, step, weights: model.stateDict({ clone: true }) };
    if (valLoss < anchor - cfg.minDelta) {
      anchor = valLoss;
      sinceBest = 0;
    } else if (++sinceBest >= cfg.patience) {
      stoppedEarly = true;
      break;
    }
  }
  progress.stop();
  model.loadStateDict(best.weights);
  return { model, seconds: (Date.now() - t0) / 1000, curve, bestStep: best.step, stoppedEarly };
}
