/**
 * `tsx repro/eva/estimate.ts [standard|full|quick]`: predicts a preset's wall time on this
 * machine without running it, from short timing trials: a few pretraining steps of each
 * base model, and one short fine-tuning run (default and EVA init) per modality at the
 * preset's sizes. Every phase of the preset (the same list the run's ETA uses) is then
 * costed as steps × seconds per step + evaluations + init. Pretrained weights are not
 * cached by the trials (their pretraining config differs from the preset's).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as nd from '@tsgrad/tensor';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finetune, METHODS } from './finetune.ts';
import { expectAll } from './main.ts';
import { PRESETS, type EvaPreset } from './presets.ts';
import { languageTask, visionTask, type Task } from './tasks.ts';

interface Cost {
  step: number;
  evalEach: number;
  init: Record<string, number>;
}

function trial(task: Task, p: EvaPreset, modality: 'language' | 'vision'): Cost {
  const ft = modality === 'language' ? p.languageFt : p.visionFt;
  const steps = 10;
  const cfg = { ...ft, steps, evalEvery: 5 };
  const init: Record<string, number> = {};
  let step = 0;
  let evalEach = 0;
  for (const m of METHODS.filter((x) => ['default', 'pissa', 'eva'].includes(x.name))) {
    const t0 = performance.now();
    const r = finetune(task, m, 0, cfg, ft.lr);
    const wall = (performance.now() - t0) / 1000;
    init[m.name] = r.initSeconds;
    if (m.name === 'default') {
      step = r.trainSeconds / steps;
      evalEach = (wall - r.initSeconds - r.trainSeconds) / (r.curve.length + 1);
    }
  }
  return { step, evalEach, init };
}

/** Seconds of the exact eigendecompositions the minor-components ablation does per run (one per LoRA layer width). */
function minorSeconds(widths: number[]): number {
  let total = 0;
  for (const w of widths) {
    const a = nd.randn([w, w], { seed: 1, dtype: 'float64' });
    const t0 = performance.now();
    nd.eigh(nd.matmul(a, a.transpose(0, 1)));
    total += (performance.now() - t0) / 1000;
  }
  return total;
}

async function main(): Promise<void> {
  const name = (process.argv[2] ?? 'standard') as keyof typeof PRESETS;
  const p = PRESETS[name];
  const dir = mkdtempSync(join(tmpdir(), 'eva-estimate-'));
  try {
    // two short pretrainings, so the fixed cost (corpus, tokenizer, evaluations) cancels
    const timeBuild = (steps: number) => {
      const t = performance.now();
      const task = languageTask({ ...p.language, pretrainSteps: steps }, p.languageTasks[0]!, dir);
      return { task, seconds: (performance.now() - t) / 1000 };
    };
    const short = timeBuild(2);
    const long = timeBuild(8);
    const lang = long.task;
    const preStep = Math.max(0, (long.seconds - short.seconds) / 6);
    let t0 = performance.now();
    t0 = performance.now();
    const vis = visionTask({ ...p.vision, pretrainEpochs: 1 }, p.visionTasks[0]!, dir);
    const visEpoch = (performance.now() - t0) / 1000;
    const costs = { language: trial(lang, p, 'language'), vision: trial(vis, p, 'vision') };
    // one eigh per LoRA layer: per block q/k/v/out/fc1 read d-wide inputs and fc2 4d-wide, plus the d-wide LM head
    const minor = {
      language: p.ablations.includes('eva_minor') ? minorSeconds([p.language.dModel]) * (5 * p.language.nLayers + 1) + minorSeconds([4 * p.language.dModel]) * p.language.nLayers : 0,
      vision: p.ablations.includes('eva_minor') ? minorSeconds([784, ...p.vision.hidden.slice(0, -1)]) : 0,
    };
    const seeds = Array.from({ length: p.seeds }, (_, i) => i);
    const keys: [string, number][] = [];
    expectAll({ expect: (k, w) => void keys.push([k, w]) }, p, seeds);
    let total = preStep * p.language.pretrainSteps + visEpoch * p.vision.pretrainEpochs;
    const lines = [`pretraining: language ${((preStep * p.language.pretrainSteps) / 60).toFixed(1)} min (${preStep.toFixed(3)} s/step), vision ${((visEpoch * p.vision.pretrainEpochs) / 60).toFixed(1)} min`];
    for (const modality of ['language', 'vision'] as const) {
      const c = costs[modality];
      const ft = modality === 'language' ? p.languageFt : p.visionFt;
      const tasks: string[] = modality === 'language' ? p.languageTasks : p.visionTasks;
      const mine = keys.filter(([k]) => tasks.includes(k.split('/')[0]!));
      let s = 0;
      for (const [k] of mine) {
        const method = k.split('/')[1]!;
        if (method === 'convergence') s += c.init['eva']!;
        if (method === 'eva_minor') s += minor[modality];
        else s += ft.steps * c.step + (ft.steps / ft.evalEvery + 2) * c.evalEach + (method.startsWith('eva') ? c.init['eva']! : method.startsWith('pissa') ? c.init['pissa']! : c.init['default']!);
      }
      total += s;
      lines.push(`${modality}: ${mine.length} phases, ${c.step.toFixed(4)} s/step, ${c.evalEach.toFixed(3)} s/eval, EVA init ${c.init['eva']!.toFixed(2)} s, minor-components eigh ${minor[modality].toFixed(1)} s/run -> ${(s / 60).toFixed(1)} min`);
    }
    console.log(`eva preset '${name}' on this machine (load now: see uptime), estimated:\n  ${lines.join('\n  ')}\n  total ${(total / 60).toFixed(1)} min`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
