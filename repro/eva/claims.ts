/**
 * The verdicts of the EVA reproduction, one per claim of the paper (arXiv:2410.07170 v5)
 * that issue 15 lists, each with the rule that decides it, stated next to the numbers:
 *  1. faster convergence early in fine-tuning than the other inits (Fig. 4, 6);
 *  2. a lower final loss than the other inits at the same rank budget;
 *  3. the gain is not only from extra parameters (parameter-matched controls);
 *  4. rank redistribution helps (rho 2 against uniform-rank EVA, rho 1);
 *  5. a larger gradient norm at the start (Theorem 3.2);
 *  6. the init is a small share of training (0.2-0.7% for Llama-2-7B, Fig. 5);
 *  7. the components converge within few minibatches;
 *  8. the principal directions matter (EVA against its rotated / permuted / minor ablations);
 * plus the descriptive one, where ranks move (FFN → attention in LLMs, section 4.1).
 * Comparisons are paired over seeds (same seed, same batches) with 95% t intervals; every
 * init trains at its own best learning rate (chosen on the validation split).
 */
import { direction, formatPaired, formatStat, pairedDiff, stat, tQuantile975, verdictWord, type PairedComparison, type Verdict } from '../lib/stats.ts';
import type { RunResult } from './finetune.ts';
import type { TaskSummary } from './summary.ts';

export const BASELINES = ['default', 'gaussian', 'pissa', 'olora'];
export const f = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : String(x));

/** Lines for the report plus the machine-readable verdict they state. */
export interface Claim {
  title: string;
  lines: string[];
  verdict: Verdict;
}

/** Index of the first evaluation at or after 20% of the budget (the "early" point). */
export function earlyIndex(s: TaskSummary): number {
  const curve = s.methods['default']!.curve;
  const i = curve.findIndex((p) => p.step > 0 && p.step >= 0.2 * s.finetune.steps);
  return i < 0 ? curve.length - 1 : i;
}

/** Paired (same seed, same batches) comparison a - b over the seeds both ran, with a 95% t interval. */
export function paired(s: TaskSummary, a: string, b: string, q: (r: RunResult) => number): PairedComparison {
  const rb = s.methods[b]!.runs;
  const ra = s.methods[a]!.runs.filter((r) => rb.some((x) => x.seed === r.seed));
  return pairedDiff(ra.map(q), ra.map((r) => q(rb.find((x) => x.seed === r.seed)!)));
}

const finalLoss = (r: RunResult) => r.curve.at(-1)!.evalLoss;

function claimEarly(s: TaskSummary): Claim {
  const i = earlyIndex(s);
  const step = s.methods['default']!.curve[i]!.step;
  const vs = Object.fromEntries(BASELINES.map((b) => [b, paired(s, 'eva', b, (r) => r.curve[i]!.evalLoss)]));
  const lower = BASELINES.filter((b) => direction(vs[b]!) === 'lower');
  const held = lower.length === BASELINES.length ? true : lower.length > 0 ? 'partly' : false;
  const rule = `at the first evaluation at or after 20% of the steps (step ${step}), the 95% CI of the paired difference of test loss EVA − init lies below 0: held for every baseline init, partly for some`;
  return {
    title: 'Faster early convergence',
    verdict: { claim: 'EVA converges faster early in fine-tuning than the other inits at the same rank budget', rule, value: vs, held },
    lines: [`- ${verdictWord(held)}: EVA − init at step ${step}: ` + BASELINES.map((b) => `${b} ${formatPaired(vs[b]!)}`).join('; ') + '.', `  Rule: ${rule}.`],
  };
}

function claimFinal(s: TaskSummary): Claim {
  const vs = Object.fromEntries(BASELINES.map((b) => [b, paired(s, 'eva', b, finalLoss)]));
  const lower = BASELINES.filter((b) => direction(vs[b]!) === 'lower');
  const held = lower.length === BASELINES.length ? true : lower.length > 0 ? 'partly' : false;
  const rule = 'the 95% CI of the paired difference of the final test loss, EVA − init (each at its best lr), lies below 0: held for every baseline init, partly for some';
  return {
    title: 'Lower final loss',
    verdict: { claim: 'EVA reaches a lower final loss than the other inits at the same rank budget', rule, value: vs, held },
    lines: [`- ${verdictWord(held)}: EVA − init: ` + BASELINES.map((b) => `${b} ${formatPaired(vs[b]!)}`).join('; ') + '.', `  Rule: ${rule}. The paper's final-score gains over LoRA are small and often within seed noise.`],
  };
}

function claimMatched(s: TaskSummary): Claim {
  const vs = Object.fromEntries(s.groups.matched.map((b) => [b, paired(s, 'eva', b, finalLoss)]));
  const lower = s.groups.matched.filter((b) => direction(vs[b]!) === 'lower');
  const held = lower.length === s.groups.matched.length ? true : lower.length > 0 ? 'partly' : false;
  const p = (n: string) => f(s.methods[n]!.loraParams.mean, 0);
  const rule = 'the 95% CI of the paired final-loss difference EVA − control lies below 0, where the controls are default and PiSSA init with EVA\'s own ranks and alphas of the same seed (the same parameter count): held for both, partly for one';
  return {
    title: 'The gain is not only from extra parameters',
    verdict: { claim: 'EVA\'s gain is not only from its rank pattern / parameter count', rule, value: vs, held },
    lines: [
      `- ${verdictWord(held)}: EVA − control: ` + s.groups.matched.map((b) => `${b} ${formatPaired(vs[b]!)}`).join('; ') + `. LoRA parameters: eva ${p('eva')}, controls ${s.groups.matched.map(p).join(' / ')}, uniform inits ${p('default')}.`,
      `  Rule: ${rule}.`,
    ],
  };
}

function claimRedistribution(s: TaskSummary): Claim {
  const c = paired(s, 'eva', 'eva_rho1', finalLoss);
  const c2 = paired(s, 'default_evaranks', 'default', finalLoss);
  const held = direction(c) === 'lower';
  const rule = 'the 95% CI of the paired final-loss difference EVA rho 2 − EVA rho 1 (uniform ranks, same init otherwise) lies below 0';
  return {
    title: 'Rank redistribution helps',
    verdict: { claim: 'rank redistribution (rho > 1) improves on uniform ranks', rule, value: { evaRho2MinusRho1: c, defaultEvaranksMinusDefault: c2 }, held },
    lines: [
      `- ${verdictWord(held)}: eva − eva_rho1 ${formatPaired(c)}. For the random init, EVA's rank pattern alone: default_evaranks − default ${formatPaired(c2)}.`,
      `  Rule: ${rule}.`,
    ],
  };
}

function claimGrad(s: TaskSummary): Claim {
  // Theorem 3.2 compares EVA's A with random A (B = 0 in both); PiSSA and OLoRA also train a non-zero B at step 0
  const vs = Object.fromEntries(['default', 'gaussian'].map((b) => [b, paired(s, 'eva', b, (r) => r.gradNormAtStep0)]));
  const above = Object.values(vs).filter((c) => direction(c) === 'higher').length;
  const held = above === 2 ? true : above === 1 ? 'partly' : false;
  const rule = 'the 95% CI of the paired difference of ‖∇(A, B)‖ at step 0, EVA − random-A init, lies above 0: held for both default and gaussian, partly for one';
  const g = s.groups.inits.map((n) => `${n} ${f(s.methods[n]!.gradNormAtStep0.mean, 3)}`).join(', ');
  return {
    title: 'Larger gradient norm at the start',
    verdict: { claim: 'EVA has a larger gradient norm at the start than random-A inits (Theorem 3.2)', rule, value: vs, held },
    lines: [`- ${verdictWord(held)}: mean ‖∇‖ at step 0: ${g}. EVA − default ${formatPaired(vs['default']!, 4)}; EVA − gaussian ${formatPaired(vs['gaussian']!, 4)}.`, `  Rule: ${rule}.`],
  };
}

function claimCost(s: TaskSummary): Claim {
  const e = s.methods['eva']!;
  const share = e.initSharePercent;
  const eq = e.initStepEquivalents;
  const held = share.mean <= 1 ? true : share.mean <= 5 ? 'partly' : false;
  const rule = 'EVA init seconds / fine-tuning seconds (per seed, mean): held at most 1% (the paper reports 0.2-0.7%), partly held at most 5%';
  const perStep = e.trainSeconds.mean / s.finetune.steps;
  return {
    title: 'The init costs a small share of training',
    verdict: { claim: 'the EVA init costs a small share of training', rule, value: { sharePercent: share, initStepEquivalents: eq }, held },
    lines: [
      `- ${verdictWord(held)}: EVA init ${f(e.initSeconds.mean, 2)} ± ${f(e.initSeconds.std, 2)} s = **${f(eq.mean, 0)} ± ${f(eq.std, 0)} training-step equivalents** = ${f(share.mean, 1)}% of the ${s.finetune.steps}-step run. ` +
        `The cost is fixed: at ${f(perStep, 3)} s/step it is 1% of a run of about ${f(eq.mean * 100, 0)} steps.`,
      `  Rule: ${rule}.`,
    ],
  };
}

function claimConvergence(s: TaskSummary): Claim {
  const b = s.eva.evaBatches;
  const half = b.values.length > 1 ? (tQuantile975(b.values.length - 1) * b.std) / Math.sqrt(b.values.length) : NaN;
  const upper = b.mean + half;
  const held = b.values.length < 2 ? null : upper <= 50 ? true : upper <= 200 ? 'partly' : false;
  const rule = 'the upper end of the 95% t interval of the batches EVA (tau 0.99) needed is at most 50 (a few minibatches; partly held up to 200)';
  const curve = s.convergence.map((c) => `batch ${c.batchSize}: ${formatStat(c.batches, 1)}`).join(', ');
  return {
    title: 'Components converge within few minibatches',
    verdict: { claim: 'EVA\'s components converge within few minibatches', rule, value: { batches: b, ci95: [b.mean - half, upper], byBatchSize: s.convergence }, held },
    lines: [`- ${verdictWord(held)}: EVA needed ${f(b.mean, 1)} batches [95% CI ${f(b.mean - half, 1)}, ${f(upper, 1)}] (values ${b.values.join(', ')}).${curve ? ` Against batch size: ${curve}.` : ''}`, `  Rule: ${rule}.`],
  };
}

function claimAblations(s: TaskSummary): Claim {
  const directional = s.groups.ablations.filter((a) => /rotated|permuted|minor/.test(a));
  if (!directional.length) {
    const rule = 'no rotated, permuted or minor-component ablation ran on this task in this preset';
    return { title: 'The principal directions matter (ablations)', verdict: { claim: 'EVA beats its rotated, permuted and minor-component ablations', rule, value: null, held: null }, lines: [`- ${verdictWord(null)}: ${rule}.`] };
  }
  const vs = Object.fromEntries(directional.map((a) => [a, paired(s, 'eva', a, finalLoss)]));
  const lower = directional.filter((a) => direction(vs[a]!) === 'lower');
  const held = lower.length === directional.length ? true : lower.length > 0 ? 'partly' : false;
  const rule = 'the 95% CI of the paired final-loss difference EVA − ablation lies below 0 for the rotated, permuted and minor-component ablations: held for all that ran, partly for some';
  return {
    title: 'The principal directions matter (ablations)',
    verdict: { claim: 'EVA beats its rotated, permuted and minor-component ablations', rule, value: vs, held },
    lines: [`- ${verdictWord(held)}: EVA − ablation: ` + directional.map((a) => `${a} ${formatPaired(vs[a]!)}`).join('; ') + '.', `  Rule: ${rule}.`],
  };
}

/** Layer type of a module name: `q_proj`, `fc1`, `lm_head`, or `layers.0` for the MLP. */
function layerType(name: string): string {
  const last = name.split('.').at(-1)!;
  return /^\d+$/.test(last) ? name : last;
}

function claimRanks(s: TaskSummary): Claim {
  const byType = new Map<string, number[]>();
  for (const [layer, k] of Object.entries(s.eva.ranksMean)) byType.set(layerType(layer), [...(byType.get(layerType(layer)) ?? []), k]);
  const avg = Object.fromEntries([...byType.entries()].map(([t, v]) => [t, stat(v).mean]));
  const desc = Object.entries(avg).map(([t, v]) => `${t} ${f(v, 1)}`).join(', ');
  if (s.modality !== 'language') {
    const rule = "no attention layers in this model, so the paper's direction (FFN → attention) cannot be tested";
    return { title: 'Where ranks move', verdict: { claim: 'rank redistribution moves ranks from the FFN weights to attention', rule, value: avg, held: null }, lines: [`- ${verdictWord(null)}: mean EVA rank per layer (uniform ${s.finetune.r}): ${desc}.`, `  Rule: ${rule}.`] };
  }
  const mean = (names: string[]) => stat(names.map((n) => avg[n]!).filter((v) => v !== undefined)).mean;
  const attention = mean(['q_proj', 'k_proj', 'v_proj', 'out_proj']);
  const ffn = mean(['fc1', 'fc2']);
  const held = attention > ffn;
  const rule = "the paper's direction (section 4.1): the mean EVA rank of the attention projections exceeds that of the FFN layers (fc1, fc2), averaged over seeds";
  return {
    title: 'Where ranks move',
    verdict: { claim: 'rank redistribution moves ranks from the FFN weights to attention', rule, value: { attention, ffn }, held },
    lines: [`- ${verdictWord(held)}: attention ${f(attention, 2)}, FFN ${f(ffn, 2)}; per type (uniform ${s.finetune.r}): ${desc}.`, `  Rule: ${rule}.`],
  };
}

/** Every claim of one task, in the order the report lists them. */
export function taskClaims(s: TaskSummary): Claim[] {
  return [claimEarly(s), claimFinal(s), claimMatched(s), claimRedistribution(s), claimGrad(s), claimCost(s), claimConvergence(s), claimAblations(s), claimRanks(s)];
}

/** Every claim's verdict for one task (what metrics.json stores). */
export function taskVerdicts(s: TaskSummary): Verdict[] {
  return taskClaims(s).map((c) => c.verdict);
}
