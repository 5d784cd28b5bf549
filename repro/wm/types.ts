/**
 * Types shared by the WM reproduction's runner (main.ts) and its report (report.ts), so that
 * neither imports the other.
 */
import type { InterpolationCurve } from '@tsgrad/wm';
import type { GptTrainConfig } from './train.ts';

/** The GPT part of the run: two seeds, naive vs WM interpolation. */
export interface GptSection {
  config: GptTrainConfig;
  vocabSize: number;
  endpoints: { seed: number; seconds: number; val: { loss: number; acc: number }; train: { loss: number; acc: number } }[];
  invariance: Record<string, number>;
  curves: Record<string, InterpolationCurve>;
  l2: Record<string, number>;
  wm: Record<string, { sweeps: number; seconds: number }>;
}

/** The preset fields the report quotes. */
export type WmReportConfig = {
  mlp: { widths: readonly number[]; epochs: number; batchSize: number; lr: number };
  models: number;
  evalTrain: number;
  ste: { epochs: number; batchSize: number; lr: number };
};

/** metrics.json of the WM reproduction, as the report reads it. */
export interface WmMetrics {
  wallSeconds: number;
  data: { train: number; test: number | undefined; curveTrainExamples: number };
  endpoints: { seed: number; seconds: number; train: { loss: number; acc: number }; test: { loss: number; acc: number } }[];
  naive: InterpolationCurve;
  wm: InterpolationCurve;
  am: InterpolationCurve;
  ste: InterpolationCurve;
  l2: { before: number; afterWm: number; afterRandom: number; afterAm: number; afterSte: number; ratio: Record<string, number> };
  singularValuesMaxAbsDiff: number;
  singularValues: { a: Record<string, Float64Array>; b: Record<string, Float64Array> };
  R: Record<string, Record<string, number>>;
  RPerLayer: Record<string, Record<string, number[]>>;
  RCounts: Record<string, number[]>;
  threeModel: { wm: InterpolationCurve; ste: InterpolationCurve; naive: InterpolationCurve };
  mergeMany: {
    models: number;
    sweeps: number;
    seconds: number;
    merged: { train: { loss: number; acc: number }; test: { loss: number; acc: number } };
    naiveMean: { train: { loss: number; acc: number }; test: { loss: number; acc: number } };
    endpointsTestAcc: number[];
  };
  wmSweeps: number;
  wmSeconds: number;
  permAgreement: { steWm: number; amWm: number };
  amSeconds: number;
  steRuns: { ab: { seconds: number; steps: number; meanWmSweeps: number; drift: number }; ac: { seconds: number } };
  gpt: GptSection;
}
