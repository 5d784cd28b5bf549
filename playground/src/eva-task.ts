/**
 * What the EVA view computes, without the page: the shipped base GPT (assets/eva-base/, made by
 * assets/make-eva-base.ts), the names it is fine-tuned on (data/names.txt, written by the build
 * from @tsgrad/nn's corpus), EVA's analysis at several rho, and a LoRA fine-tuning run.
 * The fine-tuning task follows the EVA reproduction's language task (repro/eva/tasks.ts):
 * lines shuffled with a fixed seed, LoRA on every Linear of the blocks and the LM head.
 */
import { noGrad, Tensor } from '@tsgrad/autograd';
import { applyLora, computeEva, initializeLoraEvaWeights, loraParameters, type EvaBatch, type EvaResult } from '@tsgrad/eva';
import { AdamW, CharTokenizer, crossEntropy, GPT, parseSafetensors, TextDataset, type GPTConfig } from '@tsgrad/nn';
import { NDArray, Rng } from '@tsgrad/tensor';

/** assets/eva-base/config.json (see make-eva-base.ts). */
export interface EvaBaseConfig {
  gpt: GPTConfig;
  tokenizer: { chars: string[]; unknown?: 'error' | 'skip' | 'replace'; unkChar?: string };
  pretraining: { corpus: string; steps: number; batch: number; lr: number; schedule: string; parameters: number; firstLoss: number; heldOutLoss: number };
}

/** The LoRA setup of both runs: every Linear of the blocks and the head, rank 4 each. */
export const LORA = { targetModules: ['q_proj', 'k_proj', 'v_proj', 'out_proj', 'fc1', 'fc2', 'lm_head'], r: 4, alpha: 4 };
/** The rho values the slider steps through (EVA's cap on a layer's rank is round(rho · r)). */
export const RHOS = [1, 1.25, 1.5, 2, 3];
/** EVA's convergence threshold (PEFT's default) and the rows it reads per batch. */
export const EVA = { tau: 0.99, batchSize: 8, maxBatches: 200 };
/** Fine-tuning: AdamW on A and B only, the same batches and learning rate for both inits. */
export const FINETUNE = { steps: 100, batchSize: 8, lr: 5e-3, evalEvery: 10 };

export class EvaTask {
  readonly tok: CharTokenizer;
  readonly train: TextDataset;
  /** Fixed windows of the held-out names: the test loss. */
  readonly testSet: [NDArray, NDArray][];
  readonly names: number;

  constructor(
    readonly config: EvaBaseConfig,
    readonly weights: Record<string, NDArray>,
    namesText: string,
  ) {
    this.tok = CharTokenizer.fromJSON(config.tokenizer);
    // names come sorted: shuffle the lines (seeded) so train and test cover the same letters
    const lines = namesText.split('\n').filter((l) => l.length > 0);
    this.names = lines.length;
    const perm = new Rng(1234).permutation(lines.length);
    const part = (a: number, b: number) => this.tok.encode(Array.from(perm.subarray(Math.floor(a * lines.length), Math.floor(b * lines.length)), (i) => `${lines[i]}\n`).join(''));
    const T = config.gpt.contextLength;
    this.train = new TextDataset(part(0, 0.85), T);
    const test = new TextDataset(part(0.85, 1), T);
    const starts = Array.from({ length: 64 }, (_, i) => Math.floor((i * (test.length - 1)) / 63));
    this.testSet = [0, 1, 2, 3].map((b) => test.getBatch(starts.slice(b * 16, (b + 1) * 16)));
  }

  /** A fresh copy of the pretrained GPT. */
  base(): GPT {
    const gpt = new GPT(this.config.gpt);
    gpt.loadStateDict(this.weights);
    return gpt;
  }

  /** EVA's batches: an endless seeded stream of training windows (EVA stops when it has converged). */
  evaBatches(seed = 0): Iterable<EvaBatch> {
    const train = this.train;
    return {
      *[Symbol.iterator]() {
        const rng = new Rng(seed + 4242);
        for (;;) yield { input: new Tensor(train.sample(EVA.batchSize, rng)[0]) };
      },
    };
  }

  /**
   * EVA's analysis of the base model's layer inputs at one rho (the model is not changed).
   * @example const res = task.eva(2); [...res.ranks.values()].reduce((a, b) => a + b) === res.rankBudget
   */
  eva(rho: number): EvaResult {
    return computeEva(this.base(), this.evaBatches(), { loraConfig: { ...LORA, evaConfig: { rho, tau: EVA.tau } }, maxBatches: EVA.maxBatches });
  }

  /** The training batch of a step: the same for both runs. */
  batch(step: number): [NDArray, NDArray] {
    return this.train.sample(FINETUNE.batchSize, new Rng(7919 * step + 17));
  }

  /** Mean cross-entropy on the held-out names. */
  testLoss(model: GPT): number {
    model.eval();
    const loss = noGrad(() => this.testSet.reduce((s, [x, y]) => s + crossEntropy(model.call(new Tensor(x)), y).item(), 0) / this.testSet.length);
    model.train();
    return loss;
  }

  /** What the model writes after a newline (top-5 sampling at temperature 0.8, seeded). */
  sample(model: GPT, chars = 60, seed = 1): string {
    const start = new Tensor(NDArray.fromTyped(this.tok.encode('\n'), [1, 1], 'int32'));
    const ids = model.generate(start, chars, { temperature: 0.8, topK: 5, seed }).data.toTyped();
    return this.tok.decode(ids.subarray(1));
  }

  /** A LoRA run from the base: the default init (A uniform, B = 0), or EVA's A from `eva`, its result at `rho` (B = 0). */
  finetune(init: 'default' | 'eva', eva?: EvaResult, rho?: number): LoraRun {
    const model = this.base();
    // the rho goes into the adapter's config, so an exported adapter says how its ranks were chosen
    applyLora(model, { ...LORA, init, seed: 0, evaConfig: init === 'eva' ? { rho, tau: EVA.tau } : undefined });
    if (init === 'eva') {
      if (!eva) throw new Error('EvaTask.finetune: the eva init needs an EVA result');
      initializeLoraEvaWeights(model, { evaStateDict: eva.stateDict });
    }
    return new LoraRun(this, model);
  }
}

/** One fine-tuning run: its model, optimiser and loss history. */
export class LoraRun {
  readonly opt: AdamW;
  step = 0;
  readonly losses: number[] = [];
  readonly testLosses: [number, number][] = [];
  readonly trainable: number;

  constructor(
    readonly task: EvaTask,
    readonly model: GPT,
  ) {
    const params = loraParameters(model);
    this.trainable = params.reduce((n, p) => n + p.size, 0);
    this.opt = new AdamW(params, { lr: FINETUNE.lr, weightDecay: 0 });
    this.testLosses.push([0, task.testLoss(model)]);
  }

  trainStep(): number {
    const [x, y] = this.task.batch(this.step);
    const loss = crossEntropy(this.model.call(new Tensor(x)), y);
    this.opt.zeroGrad();
    loss.backward();
    this.opt.step();
    this.step++;
    this.losses.push(loss.item());
    if (this.step % FINETUNE.evalEvery === 0) this.testLosses.push([this.step, this.task.testLoss(this.model)]);
    return loss.item();
  }
}

/** Parses the shipped base model's files. */
export function decodeEvaBase(config: EvaBaseConfig, bytes: Uint8Array): Record<string, NDArray> {
  const { tensors } = parseSafetensors(bytes);
  const expected = new GPT(config.gpt).stateDict();
  for (const [k, v] of Object.entries(expected)) {
    const got = tensors[k];
    if (!got || got.shape.join() !== v.shape.join()) throw new Error(`eva-base: weight '${k}' should have shape [${v.shape.join(', ')}], got ${got ? `[${got.shape.join(', ')}]` : 'none'}`);
  }
  return tensors;
}

let loading: Promise<EvaTask> | undefined;

/** Fetches the base model and the names once per page. */
export function loadEvaTask(): Promise<EvaTask> {
  loading ??= (async () => {
    const get = async (path: string) => {
      const res = await fetch(path);
      if (!res.ok) throw new Error(`EVA view: could not fetch ${path} (${res.status})`);
      return res;
    };
    const config = (await (await get('assets/eva-base/config.json')).json()) as EvaBaseConfig;
    const bytes = new Uint8Array(await (await get('assets/eva-base/model.safetensors')).arrayBuffer());
    const names = await (await get('data/names.txt')).text();
    return new EvaTask(config, decodeEvaBase(config, bytes), names);
  })();
  return loading;
}
