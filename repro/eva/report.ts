/**
 * report.md for the EVA reproduction: setup, per task the table of inits and
 * parameter-matched controls (each at its chosen learning rate), the learning-rate sweep,
 * the ablations, EVA's convergence against batch size, and a verdict with its rule and
 * paired 95% interval for each claim (claims.ts). The verdicts also go to metrics.json.
 */
import { markdownTable } from '../lib/results.ts';
import { formatPaired, formatStat, type Stat } from '../lib/stats.ts';
import { earlyIndex, f, paired, taskClaims } from './claims.ts';
import type { EvaPreset } from './presets.ts';
import type { TaskSummary } from './summary.ts';

const TITLES: Record<string, string> = {
  'names-f': 'Language: character GPT, Moby Dick → female first names',
  'names-m': 'Language: character GPT, Moby Dick → male first names',
  names: 'Language: character GPT, Moby Dick → first names',
  'mnist-5to9': 'Vision: MLP, MNIST 0-4 → 5-9 (new 5-way head)',
  'mnist-all': 'Vision: MLP, MNIST 0-4 → all ten digits (new 10-way head)',
};

const st = (s: Stat, d = 3) => formatStat(s, d);

function methodTable(s: TaskSummary, names: string[]): string {
  const i = earlyIndex(s);
  return markdownTable(
    ['init', 'lr', 'final test loss', `test loss at step ${s.methods['default']!.curve[i]!.step}`, '‖∇‖ at step 0', 'init s', 'init (step equiv.)', 'init / train', 'LoRA params'],
    names.map((n) => {
      const x = s.methods[n]!;
      return [n, String(x.lr.toPrecision(2)), st(x.finalEvalLoss), st(x.curve[i]!.evalLoss), st(x.gradNormAtStep0), f(x.initSeconds.mean, 2), f(x.initStepEquivalents.mean, 1), `${f(x.initSharePercent.mean, 1)}%`, f(x.loraParams.mean, 0)];
    }),
  );
}

function sweepLines(s: TaskSummary): string[] {
  const w = s.lrSweep;
  if (Object.keys(w.inits).length === 0) {
    return [`Learning rates: chosen on the validation split of \`${w.chosenOn}\` (same modality) and reused here: ` + Object.entries(s.methods).filter(([n]) => s.groups.inits.includes(n)).map(([n, m]) => `${n} ${m.lr.toPrecision(2)}`).join(', ') + '.'];
  }
  const out = [
    `Learning-rate sweep (final validation loss, mean ± std over seeds ${w.seeds.join(', ')}; the best rate per init is used everywhere else${w.notSwept.length ? `; not swept in this preset, at the preset's lr ${s.finetune.lr}: ${w.notSwept.join(', ')}` : ''}):`,
    '',
    markdownTable(
      ['init', ...w.lrs.map((lr) => `lr ${lr.toPrecision(2)}`), 'best', 'sensitivity (max − min)'],
      Object.entries(w.inits).map(([n, x]) => [n, ...x.byLr.map((b) => st(b.finalValLoss)), x.bestLr.toPrecision(2), f(x.sensitivity)]),
    ),
  ];
  const edge = Object.entries(w.inits).filter(([, x]) => x.bestLr === w.lrs[0] || x.bestLr === w.lrs.at(-1)).map(([n]) => n);
  if (edge.length) out.push('', `The best rate of ${edge.join(', ')} is at the edge of the grid: the optimum may lie outside it, so those inits may be under-tuned.`);
  return out;
}

function ablationLines(s: TaskSummary): string[] {
  if (!s.groups.ablations.length) return [];
  const rows = ['eva', 'eva_rho1', ...s.groups.ablations].map((n) => {
    const x = s.methods[n]!;
    const d = n === 'eva' ? '—' : formatPaired(paired(s, n, 'eva', (r) => r.curve.at(-1)!.evalLoss));
    return [n, st(x.finalEvalLoss), d, f(x.loraParams.mean, 0), x.runs.map((r) => r.evaBatches ?? '-').join('/')];
  });
  return ['Ablations (at EVA\'s lr; final test loss; ablation − EVA paired over the seeds both ran):', '', markdownTable(['variant', 'final test loss', 'ablation − eva', 'LoRA params', 'EVA batches'], rows), ''];
}

/** The whole report.md. */
export function buildReport(o: { preset: string; config: EvaPreset; seeds: number[]; summaries: TaskSummary[]; totalSeconds: number }): string {
  const out: string[] = [];
  out.push('# EVA (Explained Variance Adaptation): inits, controls and ablations');
  out.push('');
  out.push(
    `Preset \`${o.preset}\`, seeds ${o.seeds.join(', ')}, total wall time ${f(o.totalSeconds / 60, 1)} min on this machine. ` +
      'Every init gets the same fine-tuning budget: the same steps, schedule (AdamW, 3% warm-up then linear decay, weight decay 0) and, per seed, the same batches; each init trains at its own best learning rate, chosen on a validation split (never the test split). ' +
      `LoRA r = ${o.config.languageFt.r}, alpha = ${o.config.languageFt.alpha}; EVA uses PEFT defaults (tau 0.99, randomized SVD, adjusted alphas, no whitening) on batches of the fine-tuning training data. ` +
      '`eva` is rho = 2, `eva_rho1` rho = 1 (uniform ranks). `default_evaranks` and `pissa_evaranks` are the parameter-matched controls: that init with EVA\'s ranks and alphas of the same seed.',
  );
  out.push('');
  out.push('## Verdicts');
  out.push('');
  out.push(markdownTable(['task', ...taskClaims(o.summaries[0]!).map((c) => c.title)], o.summaries.map((s) => [s.task, ...taskClaims(s).map((c) => String(c.verdict.held))])));
  out.push('');
  for (const s of o.summaries) {
    out.push(`## ${TITLES[s.task] ?? s.task}`);
    out.push('');
    out.push(`- Base model: ${s.pretrainSummary}`);
    out.push(`- Data: ${s.dataSummary}`);
    out.push(`- LoRA targets: ${s.targets.join(', ')}; ${s.finetune.steps} steps.${s.wallSeconds ? ` Task wall time ${f(s.wallSeconds, 0)} s; ${f(s.methods['default']!.trainSeconds.mean / s.finetune.steps, 3)} s per training step.` : ''}`);
    for (const n of s.notes) out.push(`- Note: ${n}`);
    out.push('');
    out.push(methodTable(s, [...s.groups.inits, ...s.groups.matched]));
    out.push('');
    out.push(...sweepLines(s));
    out.push('');
    out.push(...ablationLines(s));
    const figs = [`![loss](loss-${s.task}.svg)`, `![ranks](ranks-${s.task}.svg)`];
    if (s.groups.ablations.length) figs.push(`![ablations](ablations-${s.task}.svg)`);
    if (Object.keys(s.lrSweep.inits).length) figs.push(`![lr sweep](lr-sweep-${s.task}.svg)`);
    if (s.convergence.length) figs.push(`![convergence](convergence-${s.task}.svg)`);
    out.push(figs.join(' '));
    out.push('');
    out.push("### The paper's claims here");
    out.push('');
    taskClaims(s).forEach((c, k) => {
      out.push(`${k + 1}. ${c.title}:`);
      out.push(...c.lines);
    });
    out.push('');
  }
  out.push('![init share](init-share.svg) ![gradient norm](grad-norm.svg)');
  out.push('');
  out.push('## Caveats');
  out.push('');
  out.push('- Wall times are measured on a shared 2-core machine: other processes add noise to the seconds (the init cost and its step equivalents), not to the losses, which are deterministic.');
  out.push("- The gradient norm is over all LoRA parameters (A and B). With B = 0 (default, gaussian, EVA) only B has a gradient at step 0, as in Theorem 3.2; PiSSA and OLoRA start with both factors non-zero.");
  out.push('- The minor-component ablation takes its directions from an exact covariance of the first batches (the incremental PCA keeps only the top components); on MNIST many of them are constant border pixels, so that adapter starts dead (A x = 0).');
  out.push('- EVA follows PEFT, not the paper, where they differ (centred PCA, ratios over the centred sum of squares, alpha adjusted to keep alpha/r, whitening by 1/sqrt(singular value)); see packages/eva/README.md.');
  return out.join('\n');
}
