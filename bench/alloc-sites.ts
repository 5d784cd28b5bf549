/**
 * Typed-array storage allocated by one GPT (or MLP) training step, by call site: the same
 * counting proxies as bench/lib/alloc.ts, but each new buffer is charged to the first stack
 * frames inside tsgrad's packages, so a change to allocation can be aimed and checked.
 *
 * Usage: nice -n 19 pnpm exec tsx bench/alloc-sites.ts [gpt|mlp] [frames=3]
 */
import { allocationBySite } from './lib/alloc.ts';
import * as ts from './lib/tsgrad.ts';
import { gptBatch, mlpInputs } from './lib/inputs.ts';

const which = process.argv[2] ?? 'gpt';
const frames = Number(process.argv[3] ?? 3);
const step = which === 'mlp' ? ts.mlpStep(mlpInputs()) : ts.gptStep(ts.gptModel(), gptBatch());
step();
const sites = allocationBySite(step, frames);
const mib = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`;
const total = [...sites.values()].reduce((s, v) => s + v.bytes, 0);
process.stdout.write(`${which} step: ${mib(total)} of typed-array storage\n`);
for (const [site, { bytes, count }] of [...sites].sort((a, b) => b[1].bytes - a[1].bytes)) {
  if (bytes < total / 500) continue;
  process.stdout.write(`${mib(bytes).padStart(11)}  ${String(count).padStart(5)}x  ${site}\n`);
}
