/**
 * report.md of the WM reproduction: the verdict on each claim of Ito et al. with the paired 95%
 * interval it was decided from, the paper's value where one could be recovered, then the tables
 * behind them (mean ± std over independent pairs) and the assumptions made.
 */
import { markdownTable } from '../lib/results.ts';
import { formatStat, verdictWord, type Stat, type Verdict } from '../lib/stats.ts';
import { LAYER_TYPES } from './gpt.ts';
import type { WmPreset } from './presets.ts';
import type { CnnSummary, WmSummary } from './summary.ts';
import type { ValPoint } from './train.ts';

export type WmReportMetrics = Omit<WmSummary, 'verdicts'> & {
  wallSeconds: number;
  resumedPhases: number;
  pairs: number;
  dataset: { name: string; train: number; test: number; curveTrainExamples: number };
  gpt: WmSummary['gpt'] & { pairs: number; training: { seed: number; seconds: number; curve: ValPoint[]; bestStep: number; stoppedEarly: boolean }[] };
  models: { seed: number; seconds: number }[];
  cnn: CnnSummary;
  verdicts: (Verdict & { paper?: string })[];
};

/** What the paper (or what could be recovered of it, see wm-paper-notes.md) reports per claim. */
const PAPER: string[] = [
  'LMC after WM (MLP / VGG / ResNet): barrier near 0; two-model numbers not recovered',
  'L2 distance reduced by only 6-20 %',
  'singular values equal (exact under permutation)',
  'R_WM(0.3) ≈ 0.8 for MLPs, about 0.2 for VGG/ResNet; R(0) lower',
  'R without permutation ≈ 0',
  'AM: same principle as WM (Table 4, Figs. 15-16; numbers not recovered)',
  'R_STE ≈ 0 (Table 2) while its barrier is low',
  'MLP CIFAR-10: WM -0.098 ± 0.040 vs STE 0.296 ± 0.003 (midpoint loss barrier, presumed)',
];

const s = (x: Stat, d = 3) => formatStat(x, d);

function interval(v: unknown): string {
  const pick = (c: { meanDiff: number; ci95: [number, number]; n: number }) =>
    c.n < 2 ? `${c.meanDiff.toFixed(3)} (n = 1, no interval)` : `${c.meanDiff.toFixed(3)} [${c.ci95[0].toFixed(3)}, ${c.ci95[1].toFixed(3)}] (n = ${c.n})`;
  if (v && typeof v === 'object' && 'ci95' in v) return pick(v as never);
  if (v && typeof v === 'object') {
    return Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x && typeof x === 'object' && 'ci95' in (x as object))
      .map(([k, x]) => `${k}: ${pick(x as never)}`)
      .join('; ') ||
      Object.entries(v as Record<string, unknown>)
        .map(([k, x]) => `${k} ${typeof x === 'number' ? x.toExponential(2) : String(x)}`)
        .join(', ');
  }
  return String(v);
}

export function writeWmReport({ preset, cfg, metrics: m }: { preset: string; cfg: WmPreset; metrics: WmReportMetrics }): string {
  const o: string[] = [];
  o.push(`# Weight matching and linear mode connectivity (preset \`${preset}\`)`, '');
  o.push(
    `Ito, Yamada & Kumagai (ICLR 2025) at small scale: ${m.pairs} independent MLP pairs ${cfg.mlp.widths.join('-')} on ${m.dataset.name} ` +
      `(${m.dataset.train} train / ${m.dataset.test} test), ${cfg.searches} WM searches per pair for R, STE as STE-MM runs it ` +
      `(Adam ${cfg.ste.lr}, batch ${cfg.ste.batchSize}, ${cfg.ste.epochs} epoch(s) over the training split), ${m.gpt.pairs} GPT pair(s). ` +
      `Wall time ${(m.wallSeconds / 60).toFixed(1)} min${m.resumedPhases > 0 ? ` (this invocation only: ${m.resumedPhases} phases were resumed from an earlier run)` : ''}.` + (m.pairs < 3 ? ` **Only ${m.pairs} pair(s): intervals are wide or absent.**` : ''),
    '',
  );
  o.push('## Verdicts', '');
  o.push('Each verdict comes from a paired comparison over the independent pairs (same pair, two methods): mean difference [95% t interval].', '');
  o.push(
    markdownTable(
      ['claim', 'measured: mean diff [95% CI]', 'paper', 'rule', 'verdict'],
      // a '|' inside a cell (|x| in a rule) would split the markdown table's column
      m.verdicts.map((v, i) => [v.claim, interval(v.value), v.paper ?? PAPER[i] ?? '', v.rule, verdictWord(v.held)].map((c) => c.replaceAll('|', '\\|'))),
    ),
    '',
  );
  o.push('## MLP: barriers, L2, R (mean ± std over pairs)', '');
  o.push(
    markdownTable(
      ['method', 'test-loss barrier (max gap)', 'midpoint', 'test-acc barrier', 'L2 ratio', 'R(0) cross', 'R(0.3) cross', 'R(0.3) diagonal'],
      (['naive', 'wm', 'am', 'ste'] as const).map((k) => [
        k,
        s(m.barrier[k].lossMaxGap),
        s(m.barrier[k].lossMidpoint),
        s(m.barrier[k].accMaxGap, 4),
        k === 'naive' ? '1' : s(m.l2Ratio[k]!),
        s(m.R[k]!.cross!['0']!),
        s(m.R[k]!.cross!['0.3']!),
        s(m.R[k]!.diagonal!['0.3']!),
      ]),
    ),
    '',
  );
  o.push(`Random permutation L2 ratio: ${s(m.l2Ratio.random!)}. Endpoint test accuracy ${s(m.endpoints.testAcc, 4)}. ` +
    `Spread of R over WM searches within a pair (std): R(0) ${s(m.RWmSearchStd['0']!, 4)}, R(0.3) ${s(m.RWmSearchStd['0.3']!, 4)}. ` +
    `Agreement with WM's permutation: AM ${s(m.agreement.amWm)}, STE ${s(m.agreement.steWm)}.`, '');
  o.push('R per layer (cross terms, WM search 0 vs none):', '');
  o.push(
    markdownTable(
      ['layer', 'none R(0)', 'none R(0.3)', 'WM R(0)', 'WM R(0.3)'],
      Object.keys(m.RPerLayer.wm!).map((l) => [l, s(m.RPerLayer.naive![l]!['0']!), s(m.RPerLayer.naive![l]!['0.3']!), s(m.RPerLayer.wm![l]!['0']!), s(m.RPerLayer.wm![l]!['0.3']!)]),
    ),
    '',
  );
  o.push('## STE training trace (is it converged?)', '');
  o.push(
    markdownTable(
      ['epoch', 'mean minibatch loss', 'perm change rate', 'agreement with WM'],
      m.ste.meanLossPerEpoch.map((x, e) => [e + 1, s(x, 4), s(m.ste.permChangeRatePerEpoch[e]!), s(m.ste.agreementWithWmPerEpoch[e]!)]),
    ),
    '',
  );
  o.push(`${m.ste.steps} steps per run, ${s(m.ste.seconds, 1)} s. ${cfg.ste.epochs < 2 ? 'One epoch only: convergence cannot be judged at this preset.' : ''}`, '');
  o.push('## Three models and MergeMany', '');
  o.push(
    markdownTable(
      ['pi_b(b) -> pi_c(c)', 'test-loss barrier (max gap)', 'midpoint', 'test-acc barrier'],
      (['naive', 'wm', 'ste'] as const).map((k) => [k, s(m.threeModel[k].lossMaxGap), s(m.threeModel[k].lossMidpoint), s(m.threeModel[k].accMaxGap, 4)]),
    ),
    '',
  );
  o.push(
    markdownTable(
      ['MergeMany of', 'sweeps', 'merged test acc', 'plain mean test acc', 'endpoints mean acc'],
      m.mergeMany.map((g) => [g.models, g.sweeps, g.mergedTestAcc.mean.toFixed(4), g.naiveMeanTestAcc.mean.toFixed(4), g.endpointsMeanTestAcc.mean.toFixed(4)]),
    ),
    '',
  );
  o.push('One MergeMany group per size (n = 1 each): these are not seed statistics.', '');
  o.push('## GPTs (whole-head permutations)', '');
  const tr = m.gpt.training;
  o.push(
    `${m.gpt.pairs} pair(s), trained until the validation loss stopped improving (patience ${cfg.gpt.patience} evaluations every ${cfg.gpt.evalEvery} steps, at most ${cfg.gpt.maxSteps}): ` +
      tr.map((t) => `seed ${t.seed} best at step ${t.bestStep}${t.stoppedEarly ? '' : ' (hit max steps)'}`).join(', ') +
      `. Endpoint validation loss ${s(m.gpt.endpointValLoss)}. Max invariance error ${m.gpt.invarianceMaxAbsDiff.toExponential(2)}.`,
    '',
  );
  o.push(
    markdownTable(
      ['interpolation', 'val-loss barrier (max gap)', 'vs naive [95% CI]'],
      Object.entries(m.gpt.barrier).map(([k, b]) => [k, s(b.lossMaxGap), k === 'naive' ? '' : interval(m.gpt.wmVsNaive[k])]),
    ),
    '',
  );
  o.push(
    markdownTable(
      ['WM residual', ...LAYER_TYPES.map((t) => `L2 ratio ${t}`), ...LAYER_TYPES.map((t) => `R(0.3) ${t}`)],
      ['identity', 'shared', 'shared_inhead'].map((r) => [
        r,
        ...LAYER_TYPES.map((t) => s(m.gpt.l2Ratio[`wm_${r}`]![t]!)),
        ...LAYER_TYPES.map((t) => s(m.gpt.R[`wm_${r}`]![t]!['0.3']!)),
      ]),
    ),
    '',
  );
  o.push(`R(0.3) without permutation: ${LAYER_TYPES.map((t) => `${t} ${s(m.gpt.R.naive![t]!['0.3']!)}`).join(', ')}.`, '');
  cnnSection(o, m.cnn);
  o.push('## Assumptions and what is not here', '');
  o.push(
    '- R: cross terms i != j included; S_l(gamma) = indices whose singular value is >= gamma x the largest in both a and b ' +
      '(a prefix of the descending spectra); the denominator counts only these; every weight matrix of the spec (no biases, first and last layers included). ' +
      'The diagonal-only variant (i = j) is reported alongside. Source of the definition: second-hand quotes (wm-paper-notes.md section 1).',
    '- Barrier for the verdicts: test-loss max gap to the linear path; the midpoint (probably the paper\'s, which can be negative) is in the tables.',
    '- The three-model test uses independent triplets (a, b, c) = models (3p, 3p + 1, 3p + 2): no model is in two triplets, so the pairs and triplets are independent samples.',
    '- STE convergence is judged from its trace above; with few epochs (quick) no convergence claim is made.',
    `- Data: ${m.dataset.name}. The CNNs train on the first ${m.cnn.trainExamples} digits of its seeded training order and are evaluated on the first ${m.cnn.config.evalTest} test digits, narrowed (width ${m.cnn.config.width}) to fit the time budget.`,
    '- CNN R: a conv kernel [out, in, kh, kw] is read as the matrix [out, in kh kw] it multiplies the im2col columns by; the input permutation moves blocks of kh kw columns. CNN L2 ratios are over the conv kernels and the classifier (no BatchNorm entries).',
    '- GPT: `shared_inhead` adds, after whole-head WM with the shared residual, one exact LAP per head for the q/k rows and one for the v rows with out_proj columns (a single pass, not alternated with the head and residual permutations).',
    '- `--seeds N` runs floor(N / 2) triplets (3 models each). Preset times on the 2-core machine: see packages/wm/README.md.',
  );
  return o.join('\n') + '\n';
}

/** The CNN tables: barriers with and without the BatchNorm reset, L2 ratio, R overall and per layer. */
function cnnSection(o: string[], c: CnnSummary): void {
  o.push('## CNNs (BatchNorm statistics reset at every interpolation point)', '');
  o.push(
    `${c.config.pairs} independent pair(s) per architecture, width ${c.config.width}, ${c.config.epochs} epoch(s) of Adam ${c.config.lr} (batch ${c.config.batchSize}) on ${c.trainExamples} training digits; ` +
      `${c.config.lambdas} interpolation points; statistics reset on ${c.config.statsBatches} training batches of 100.`,
    '',
  );
  o.push(
    markdownTable(
      ['model', 'endpoint test acc', 'barrier naive', 'barrier WM', 'WM without reset', 'L2 ratio', 'R(0) none', 'R(0) WM', 'R(0.3) none', 'R(0.3) WM', 'train s/model'],
      Object.entries(c.archs).map(([arch, a]) => [
        arch,
        s(a.endpointTestAcc, 4),
        s(a.barrier.naive.lossMaxGap),
        s(a.barrier.wm.lossMaxGap),
        s(a.barrier.wmNoReset.lossMaxGap),
        s(a.l2Ratio),
        s(a.R.naive!['0']!),
        s(a.R.wm!['0']!),
        s(a.R.naive!['0.3']!),
        s(a.R.wm!['0.3']!),
        s(a.trainSeconds, 1),
      ]),
    ),
    '',
  );
  for (const [arch, a] of Object.entries(c.archs)) {
    const wm = a.barrier.wm.lossMaxGap.mean;
    if (wm >= 0.1) {
      o.push(
        `${arch}: WM lowers the barrier from ${a.barrier.naive.lossMaxGap.mean.toFixed(2)} to ${wm.toFixed(2)} nats but does not reach LMC. ` +
          `Both papers find LMC for CNNs only when they are wide enough (the barrier shrinks as the width grows; git-re-basin's width study), ` +
          `and these nets have ${c.config.width} of nn's default width and ${c.config.epochs} epoch(s) on ${c.trainExamples} digits, to fit the time budget. ` +
          `Without the BatchNorm reset the matched barrier is ${a.barrier.wmNoReset.lossMaxGap.mean.toFixed(2)}: the reset matters.`,
        '',
      );
    }
    const r = a.R.wm!;
    if (r['0']!.values.every((v, i) => v === r['0.3']!.values[i])) {
      o.push(
        `${arch}: R(0.3) equals R(0) in every pair, so gamma = 0.3 kept every singular value of every layer: the spectra of these narrow, briefly trained ` +
          'nets are still flat (a wide random matrix has all its singular values within a small factor of each other), and the "large singular vectors" claim cannot be tested here.',
        '',
      );
    }
    o.push(`R per layer, ${arch} (cross terms; none vs WM):`, '');
    o.push(
      markdownTable(
        ['layer', 'none R(0)', 'none R(0.3)', 'WM R(0)', 'WM R(0.3)'],
        Object.keys(a.RPerLayer.wm!).map((l) => [l, s(a.RPerLayer.naive![l]!['0']!), s(a.RPerLayer.naive![l]!['0.3']!), s(a.RPerLayer.wm![l]!['0']!), s(a.RPerLayer.wm![l]!['0.3']!)]),
      ),
      '',
    );
  }
}
