/**
 * Presets of the CNN width study (`pnpm repro wm-width`): git-re-basin's width experiment on
 * MNIST. The WM reproduction's CNNs are a quarter of nn's default width, where WM lowers the
 * barrier but reaches no LMC and the spectra are too flat for R(0.3); the papers see LMC only
 * for wide nets. Here the same pairs protocol (independent seeds 2p / 2p + 1, BatchNorm
 * statistics reset along the path) runs at several widths, so the trend can be tested.
 */
import type { Preset } from '../lib/experiment.ts';
import type { CnnArch, CnnConfig } from '../wm/cnn.ts';
import { PRESETS as WM_PRESETS, type WmPreset } from '../wm/presets.ts';

export interface WidthPreset {
  /** 'official': the 60k / 10k split; 'bundled': the 10k-digit subset (CI-sized). */
  data: 'official' | 'bundled';
  /** Training and curves of every CNN; `width` is replaced by each study point's. */
  cnn: CnnConfig;
  /** Width multipliers per architecture of `cnn.archs`, narrowest first (nn's VGG at 1: 16-128 channels). */
  widths: Partial<Record<CnnArch, number[]>>;
}

export const WIDTH_PRESETS: Record<Preset, WidthPreset> = {
  // the pipeline on a few hundred digits: two VGG-11 widths, two pairs each
  quick: {
    data: 'bundled',
    cnn: { archs: ['vgg11'], pairs: 2, width: 0.25, trainSize: 1000, epochs: 1, batchSize: 50, lr: 3e-3, lambdas: 5, evalTest: 300, evalTrain: 300, statsBatches: 3 },
    widths: { vgg11: [0.125, 0.25] },
  },
  // the WM standard preset's CNN protocol (4,000 official training digits, 2 epochs, 3 pairs) at
  // four times its width and in between; measured 2026-12-03 (see the wm README)
  standard: {
    data: 'official',
    cnn: { archs: ['vgg11', 'resnet20'], pairs: 3, width: 0.25, trainSize: 4000, epochs: 2, batchSize: 64, lr: 3e-3, lambdas: 7, evalTest: 600, evalTrain: 300, statsBatches: 3 },
    widths: { vgg11: [0.25, 0.5, 1], resnet20: [0.25, 0.5, 1] },
  },
  full: {
    data: 'official',
    cnn: { archs: ['vgg11', 'resnet20'], pairs: 5, width: 1, trainSize: 60000, epochs: 5, batchSize: 64, lr: 1e-3, lambdas: 25, evalTest: 10000, evalTrain: 5000, statsBatches: 20 },
    widths: { vgg11: [0.25, 0.5, 1, 2, 4], resnet20: [0.25, 0.5, 1, 2, 4] },
  },
};

/**
 * The WM phase environment's configuration for this study (phase-env.ts reads `data` and
 * `cnn`; the rest is the WM preset of the same name and unused here).
 */
export function widthEnvConfig(preset: Preset): WmPreset {
  const w = WIDTH_PRESETS[preset];
  return { ...WM_PRESETS[preset], data: w.data, cnn: w.cnn };
}
