/**
 * Makes the EVA view's base model: a tiny character GPT pretrained on Moby Dick, as the EVA
 * reproduction's language task does (repro/eva/tasks.ts: same corpus, same vocabulary of
 * Moby Dick + first names, AdamW with warm-up and cosine decay), only smaller and shorter so it
 * runs in well under a minute. Deterministic: every random draw is seeded, so a rerun writes
 * the same bytes on the same machine.
 *
 *   pnpm exec tsx playground/assets/make-eva-base.ts
 *
 * writes playground/assets/eva-base/model.safetensors (the weights, float32) and config.json
 * (the GPT config, the tokenizer, how it was trained and its losses). Both are committed, so a
 * build only copies them (build.ts); rerun this only to change the base model.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { noGrad, Tensor } from '@tsgrad/autograd';
import { AdamW, CharTokenizer, crossEntropy, GPT, loadCorpus, LRScheduler, serializeSafetensors, splitTokens, TextDataset, warmupCosine } from '@tsgrad/nn';
import { Rng } from '@tsgrad/tensor';

const here = dirname(fileURLToPath(import.meta.url));
export const EVA_BASE_DIR = join(here, 'eva-base');

/** The base model and its pretraining (small enough for a page, and for under a minute on 2 cores). */
export const EVA_BASE = {
  gpt: { contextLength: 32, dModel: 32, nHeads: 4, nLayers: 2, seed: 0 },
  steps: 400,
  batch: 16,
  lr: 1e-2,
  seed: 0,
};

/** What config.json holds. */
export interface EvaBaseConfig {
  gpt: { vocabSize: number; contextLength: number; dModel: number; nHeads: number; nLayers: number; seed: number };
  tokenizer: { chars: string[]; unknown: 'error' | 'skip' | 'replace'; unkChar: string };
  pretraining: { corpus: string; steps: number; batch: number; lr: number; schedule: string; seed: number; parameters: number; firstLoss: number; heldOutLoss: number };
}

function main(): void {
  const t0 = performance.now();
  const text = loadCorpus('moby-dick');
  // the vocabulary covers the names the page fine-tunes on, as in the reproduction's language task
  const tok = new CharTokenizer(text + loadCorpus('first-names'));
  const ids = splitTokens(tok.encode(text), 0.95);
  const T = EVA_BASE.gpt.contextLength;
  const train = new TextDataset(ids.train, T);
  const gptConfig = { vocabSize: tok.vocabSize, ...EVA_BASE.gpt };
  const gpt = new GPT(gptConfig);
  const opt = new AdamW(gpt.parameters(), { lr: EVA_BASE.lr, weightDecay: 0.01 });
  const sched = new LRScheduler(opt, warmupCosine({ warmupSteps: Math.round(EVA_BASE.steps * 0.05), totalSteps: EVA_BASE.steps, minFactor: 0.1 }));
  const rng = new Rng(EVA_BASE.seed);
  let firstLoss = NaN;
  for (let s = 0; s < EVA_BASE.steps; s++) {
    const [x, y] = train.sample(EVA_BASE.batch, rng);
    const loss = crossEntropy(gpt.call(new Tensor(x)), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    sched.step();
    if (s === 0) firstLoss = loss.item();
    if ((s + 1) % 100 === 0) console.log(`step ${s + 1} / ${EVA_BASE.steps}: loss ${loss.item().toFixed(3)}`);
  }
  // held-out loss: 8 batches of fixed windows evenly spaced over the last 5 % of the book
  gpt.eval();
  const val = new TextDataset(ids.val, T);
  const heldOutLoss = noGrad(() => {
    let sum = 0;
    for (let b = 0; b < 8; b++) {
      const starts = Array.from({ length: 16 }, (_, i) => Math.floor(((b * 16 + i) * (val.length - 1)) / 127));
      const [x, y] = val.getBatch(starts);
      sum += crossEntropy(gpt.call(new Tensor(x)), y).item();
    }
    return sum / 8;
  });
  const seconds = (performance.now() - t0) / 1000;
  const config: EvaBaseConfig = {
    gpt: gptConfig,
    tokenizer: tok.toJSON(),
    pretraining: {
      corpus: 'moby-dick (first 95 %, @tsgrad/nn loadCorpus)',
      steps: EVA_BASE.steps,
      batch: EVA_BASE.batch,
      lr: EVA_BASE.lr,
      schedule: 'AdamW (weight decay 0.01), 5 % linear warm-up, cosine decay to 0.1',
      seed: EVA_BASE.seed,
      parameters: gpt.numParameters(),
      firstLoss: Number(firstLoss.toFixed(4)),
      heldOutLoss: Number(heldOutLoss.toFixed(4)),
    },
  };
  mkdirSync(EVA_BASE_DIR, { recursive: true });
  const bytes = serializeSafetensors(gpt.stateDict(), { format: 'tsgrad GPT', config: JSON.stringify(gptConfig) });
  writeFileSync(join(EVA_BASE_DIR, 'model.safetensors'), bytes);
  writeFileSync(join(EVA_BASE_DIR, 'config.json'), `${JSON.stringify(config, null, 1)}\n`);
  console.log(`wrote ${EVA_BASE_DIR}: ${gpt.numParameters()} parameters (${(bytes.length / 1024).toFixed(0)} KiB), loss ${firstLoss.toFixed(3)} -> held-out ${heldOutLoss.toFixed(3)} in ${seconds.toFixed(1)} s`);
}

main();
