/**
 * Writing a reproduction's results: metrics.json, report.md, timestamps, and the
 * mean ± std summaries reports are made of.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';

/** A sortable, file-name-safe UTC timestamp, e.g. '2026-11-28T23-45-12Z'. */
export function timestamp(date: Date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '-');
}

function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/**
 * Writes `value` as pretty JSON (creating folders). Typed arrays become arrays, and
 * non-finite numbers become the strings "NaN", "Infinity", "-Infinity" instead of null,
 * so a diverged run is visible in the file.
 * @example writeJson(join(outDir, 'metrics.json'), { accuracy: 0.97 });
 */
export function writeJson(path: string, value: unknown): void {
  const text = JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
      if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
      if (typeof v === 'bigint') return v.toString();
      return v;
    },
    2,
  );
  writeAtomic(path, `${text}\n`);
}

/**
 * Writes `markdown` to `<dir>/report.md` and returns the path.
 * @example writeReport(outDir, `# EVA\n\n${table}`);
 */
export function writeReport(dir: string, markdown: string): string {
  const path = join(dir, 'report.md');
  writeAtomic(path, markdown.endsWith('\n') ? markdown : `${markdown}\n`);
  return path;
}

/**
 * Mean and sample standard deviation (n - 1 in the denominator; 0 for a single value).
 * @example meanStd([1, 2, 3]) // { mean: 2, std: 1, n: 3 }
 */
export function meanStd(values: readonly number[]): { mean: number; std: number; n: number } {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN, n };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, std: 0, n };
  const v = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { mean, std: Math.sqrt(v), n };
}

/** Pointwise mean ± std of equally long curves (one per seed), for `lineChart` bands. */
export function meanStdCurves(curves: readonly (readonly number[])[]): { mean: number[]; std: number[]; lower: number[]; upper: number[] } {
  if (curves.length === 0) return { mean: [], std: [], lower: [], upper: [] };
  const len = curves[0]!.length;
  if (curves.some((c) => c.length !== len)) throw new Error(`meanStdCurves: curves have lengths ${curves.map((c) => c.length).join(', ')}`);
  const stats = Array.from({ length: len }, (_, i) => meanStd(curves.map((c) => c[i]!)));
  const mean = stats.map((s) => s.mean);
  const std = stats.map((s) => s.std);
  return { mean, std, lower: mean.map((m, i) => m - std[i]!), upper: mean.map((m, i) => m + std[i]!) };
}

/** "0.9712 ± 0.0031" (or just the mean for one value). */
export function formatMeanStd(values: readonly number[], digits = 4): string {
  const { mean, std, n } = meanStd(values);
  return n > 1 ? `${mean.toFixed(digits)} ± ${std.toFixed(digits)}` : `${mean.toFixed(digits)} (n = 1)`;
}

/**
 * The commit checked out when this process started: read once at module load, because a long
 * run writes its metrics at the end, when HEAD may have moved on.
 */
const START_COMMIT: string | null = (() => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
})();

/** Where and when a run happened, for metrics.json (the commit is the one the run started from). */
export function runInfo(): { timestamp: string; node: string; platform: string; cpu: string; cores: number; commit: string | null } {
  const c = cpus();
  return { timestamp: new Date().toISOString(), node: process.version, platform: `${process.platform}-${process.arch}`, cpu: c[0]?.model ?? 'unknown', cores: c.length, commit: START_COMMIT };
}

/** A markdown table from a header row and rows of cells. */
export function markdownTable(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const line = (cells: readonly (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * One line tallying the verdicts in an output folder's metrics.json (`held`: true, 'partly',
 * false, or null when a claim could not be tested), or null when it has none (the demo).
 * `pnpm repro` prints it at the end so a newcomer sees the outcome before opening the reports.
 *
 * @example verdictTally('wm', 'results/wm') // 'wm 6 held, 1 partly, 2 did not, 1 not testable (of 10)'
 */
export function verdictTally(name: string, outDir: string): string | null {
  const file = join(outDir, 'metrics.json');
  if (!existsSync(file)) return null;
  const verdicts = (JSON.parse(readFileSync(file, 'utf8')) as { verdicts?: { held: boolean | 'partly' | null }[] }).verdicts;
  if (!Array.isArray(verdicts) || verdicts.length === 0) return null;
  const count = (h: boolean | 'partly' | null) => verdicts.filter((v) => v.held === h).length;
  return `${name} ${count(true)} held, ${count('partly')} partly, ${count(false)} did not, ${count(null)} not testable (of ${verdicts.length})`;
}
