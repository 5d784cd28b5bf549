/**
 * Long reproductions as a list of phases that a user can live with: an overall ETA
 * after every phase (not only the current phase's), each phase's result written to
 * `<outDir>/phases/<key>.json` as soon as it finishes, and `--resume` picking those up
 * so an interrupted run continues from the last finished phase.
 *
 * A phase's key must name everything its result depends on (task, method, seed, and a
 * fingerprint of the preset's settings), so a resumed run never mixes results of
 * different configurations: a stored phase whose fingerprint differs is recomputed.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatDuration } from './progress.ts';
import { writeJson } from './results.ts';

/** A short stable hash of a JSON-able value (the settings a phase depends on). */
export function fingerprint(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 12);
}

export interface PhasePlanOptions {
  /** Where results go; phases are stored under `<outDir>/phases/`. */
  outDir: string;
  /** Reuse stored phases (the CLI's `--resume`). */
  resume: boolean;
  /** Settings every phase depends on (the preset); part of each stored phase's identity. */
  settings: unknown;
  /** Where progress lines go (default stderr). */
  log?: (line: string) => void;
  /** Clock in ms (for tests). */
  now?: () => number;
}

/**
 * Runs the phases of one reproduction with an overall ETA and resumable results.
 * `weight` is the phase's expected cost relative to the others (e.g. its training
 * steps); the ETA scales the time spent so far by the weight still to do.
 * @example
 * const plan = new PhasePlan({ outDir, resume: true, settings: preset });
 * plan.expect('language/eva/seed0', 60);
 * const result = await plan.run('language/eva/seed0', () => finetune(...));
 */
export class PhasePlan {
  private readonly opts: PhasePlanOptions;
  private readonly print: (line: string) => void;
  private readonly now: () => number;
  private readonly weights = new Map<string, number>();
  private readonly done = new Set<string>();
  private readonly settingsHash: string;
  private spentMs = 0;
  private computedWeight = 0;
  /** Phases taken from storage by `--resume`. */
  resumed = 0;

  constructor(opts: PhasePlanOptions) {
    this.opts = opts;
    this.print = opts.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.now = opts.now ?? (() => performance.now());
    this.settingsHash = fingerprint(opts.settings);
  }

  /** Announces a phase and its relative cost, so the overall ETA covers it from the start. */
  expect(key: string, weight: number): void {
    if (!(weight > 0)) throw new RangeError(`PhasePlan.expect: weight of '${key}' must be positive, got ${weight}`);
    this.weights.set(key, weight);
  }

  private path(key: string): string {
    return join(this.opts.outDir, 'phases', `${key.replace(/[^A-Za-z0-9._-]+/g, '_')}.json`);
  }

  /** Seconds left, from the measured cost per unit of weight of the phases computed so far. */
  etaSeconds(): number {
    let left = 0;
    for (const [k, w] of this.weights) if (!this.done.has(k)) left += w;
    if (left === 0) return 0;
    if (this.computedWeight === 0) return NaN;
    return ((this.spentMs / this.computedWeight) * left) / 1000;
  }

  /**
   * The stored result of phase `key` when resuming (and its settings match), else the
   * result of `compute`, stored before it is returned.
   */
  async run<T>(key: string, compute: () => T | Promise<T>): Promise<T> {
    if (!this.weights.has(key)) this.expect(key, 1);
    const path = this.path(key);
    if (this.opts.resume && existsSync(path)) {
      const stored = JSON.parse(readFileSync(path, 'utf8')) as { key: string; settings: string; result: T };
      if (stored.key === key && stored.settings === this.settingsHash) {
        this.done.add(key);
        this.resumed++;
        this.print(`[phases] ${key}: resumed from ${path}`);
        return stored.result;
      }
    }
    const t0 = this.now();
    const result = await compute();
    this.spentMs += this.now() - t0;
    this.computedWeight += this.weights.get(key)!;
    this.done.add(key);
    writeJson(path, { key, settings: this.settingsHash, result });
    const total = this.weights.size;
    this.print(`[phases] ${this.done.size}/${total} done (${key}); overall ETA ${formatDuration(this.etaSeconds())}`);
    return result;
  }
}
