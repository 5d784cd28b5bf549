/**
 * A small but complete reproduction, as a template for the real ones: softmax
 * regression on MNIST over several seeds, with a progress display, metrics.json, a
 * loss curve with a mean ± std band, a bar chart of per-digit accuracy, and report.md.
 */
import { join } from 'node:path';
import { Tensor, noGrad } from '@tsgrad/autograd';
import { DataLoader, loadMnist, TensorDataset } from '@tsgrad/nn';
import { NDArray, Rng } from '@tsgrad/tensor';
import { presetOf, seedList, type RunOptions } from '../lib/experiment.ts';
import { barChart, lineChart, writeSvg } from '../lib/plot.ts';
import { Progress } from '../lib/progress.ts';
import { formatMeanStd, markdownTable, meanStd, meanStdCurves, runInfo, writeJson, writeReport } from '../lib/results.ts';

const PRESETS = {
  quick: { trainSize: 2000, epochs: 3, seeds: 2, batchSize: 64, lr: 0.5 },
  full: { trainSize: 8000, epochs: 10, seeds: 5, batchSize: 64, lr: 0.5 },
} as const;

interface SeedResult {
  seed: number;
  epochLoss: number[];
  testAccuracy: number[];
  perDigitAccuracy: number[];
}

function trainOne(seed: number, cfg: (typeof PRESETS)['quick' | 'full'], label: string): SeedResult {
  const { train, test } = loadMnist({ seed: 0, trainSize: cfg.trainSize });
  const loader = new DataLoader(new TensorDataset(train.images, train.labels), { batchSize: cfg.batchSize, shuffle: true, seed });
  const rng = new Rng(seed);
  const w = new Tensor(NDArray.fromTyped(Float32Array.from({ length: 784 * 10 }, () => rng.normal() * 0.01), [784, 10]), true);
  const b = new Tensor(NDArray.zeros([10]), true);
  const progress = new Progress(cfg.epochs * loader.length, { label, itemsPerStep: cfg.batchSize, itemName: 'ex' });
  const epochLoss: number[] = [];
  const testAccuracy: number[] = [];
  const logits = (x: NDArray) => new Tensor(x).matmul(w).add(b);
  const predict = (x: NDArray) => noGrad(() => logits(x).argmax(1)).data.toTyped();
  for (let epoch = 0; epoch < cfg.epochs; epoch++) {
    let sum = 0;
    for (const [x, y] of loader) {
      const logp = logits(x!).logSoftmax(1);
      const loss = logp.gather(1, y!.reshape([-1, 1])).mean().neg();
      w.grad = null;
      b.grad = null;
      loss.backward();
      // plain SGD on the leaves' storage
      for (const p of [w, b]) {
        const g = p.grad!.data.toTyped();
        const d = p.data.data;
        for (let i = 0; i < d.length; i++) d[i]! -= cfg.lr * g[i]!;
      }
      sum += loss.item();
      progress.tick(1, { loss: loss.item() });
    }
    epochLoss.push(sum / loader.length);
    const pred = predict(test.images);
    let hits = 0;
    for (let i = 0; i < pred.length; i++) if (pred[i] === test.labels.data[i]) hits++;
    testAccuracy.push(hits / pred.length);
  }
  progress.stop();
  const pred = predict(test.images);
  const perDigitAccuracy = Array.from({ length: 10 }, (_, d) => {
    let hit = 0;
    let n = 0;
    pred.forEach((p, i) => {
      if (test.labels.data[i] === d) {
        n++;
        if (p === d) hit++;
      }
    });
    return hit / n;
  });
  return { seed, epochLoss, testAccuracy, perDigitAccuracy };
}

/** `mean ± std`, or `mean (n = 1)` for one seed. */
const pmOrN = (m: number, s: number, n: number) => (n > 1 ? `${m.toFixed(4)} ± ${s.toFixed(4)}` : `${m.toFixed(4)} (n = 1)`);

export async function run(opts: RunOptions): Promise<string> {
  const cfg = presetOf(PRESETS, opts.preset, 'demo');
  const seeds = seedList(opts, cfg.seeds);
  const results = seeds.map((s) => trainOne(s, cfg, `demo seed ${s}`));
  const epochs = Array.from({ length: cfg.epochs }, (_, i) => i + 1);
  const loss = meanStdCurves(results.map((r) => r.epochLoss));
  const acc = meanStdCurves(results.map((r) => r.testAccuracy));
  const finalAcc = results.map((r) => r.testAccuracy.at(-1)!);

  writeJson(join(opts.outDir, 'metrics.json'), { experiment: 'demo', preset: opts.preset, config: cfg, seeds, run: runInfo(), results });
  writeSvg(
    join(opts.outDir, 'loss.svg'),
    await lineChart({
      title: 'Softmax regression on MNIST: training loss (mean ± std over seeds)',
      xLabel: 'epoch',
      yLabel: 'cross-entropy',
      series: [{ name: 'train loss', x: epochs, y: loss.mean, lower: loss.lower, upper: loss.upper }],
    }),
  );
  writeSvg(
    join(opts.outDir, 'accuracy.svg'),
    await barChart({
      title: 'Test accuracy per digit (mean ± std over seeds)',
      xLabel: 'digit',
      yLabel: 'accuracy',
      categories: Array.from({ length: 10 }, (_, d) => String(d)),
      series: [
        {
          name: 'softmax regression',
          values: Array.from({ length: 10 }, (_, d) => meanStd(results.map((r) => r.perDigitAccuracy[d]!)).mean),
          errors: Array.from({ length: 10 }, (_, d) => meanStd(results.map((r) => r.perDigitAccuracy[d]!)).std),
        },
      ],
    }),
  );
  return writeReport(
    opts.outDir,
    [
      '# Demo: softmax regression on MNIST',
      '',
      `Preset \`${opts.preset}\`: ${cfg.trainSize} training digits, ${cfg.epochs} epochs of SGD (lr ${cfg.lr}, batch ${cfg.batchSize}), seeds ${seeds.join(', ')}; the fixed 2,000-digit test split of \`loadMnist\`.`,
      '',
      `Final test accuracy: **${formatMeanStd(finalAcc)}** (a linear model on MNIST is expected near 0.9).`,
      '',
      markdownTable(['epoch', 'train loss', 'test accuracy'], epochs.map((e, i) => [e, pmOrN(loss.mean[i]!, loss.std[i]!, seeds.length), pmOrN(acc.mean[i]!, acc.std[i]!, seeds.length)])),
      '',
      '![loss](loss.svg) ![accuracy](accuracy.svg)',
    ].join('\n'),
  );
}
