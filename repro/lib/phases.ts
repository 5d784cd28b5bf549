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
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatDuration } from './progress.ts';
import { writeJson } from './results.ts';

/**
 * Node flags that let a child run TypeScript as this process does: this process's own flags
 * when they load tsx (the `tsx` command passes them), else `--import tsx` (a test runner that
 * registered tsx from inside, as `uvu -r tsx` does).
 */
function tsLoaderFlags(): string[] {
  return process.execArgv.some((a) => a.includes('tsx')) ? process.execArgv : [...process.execArgv, '--import', 'tsx'];
}

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
  /** The stored result of `key` if it exists and was computed with these settings. */
  private stored<T>(key: string): { result: T } | null {
    const path = this.path(key);
    if (!existsSync(path)) return null;
    const stored = JSON.parse(readFileSync(path, 'utf8')) as { key: string; settings: string; result: T };
    return stored.key === key && stored.settings === this.settingsHash ? { result: stored.result } : null;
  }

  /**
   * Computes independent phases, up to `jobs` at a time, each in a child process that runs
   * `node <this process's flags> <childArgs(key)>` and stores the phase with the same code as
   * `run` would (see repro/wm/phase-worker.ts); then returns every result in `keys`' order.
   * Results are the same bits as computing them here, because every phase is deterministic
   * given its settings and the stored phases it reads. Resumable phases are not recomputed.
   * With `jobs` <= 1, or one phase to compute, they run here, one after another.
   * A child that fails stops the others and rejects, naming the phase and its exit status.
   */
  async runParallel<T>(keys: string[], jobs: number, compute: (key: string) => T | Promise<T>, childArgs: (key: string) => string[]): Promise<T[]> {
    for (const k of keys) if (!this.weights.has(k)) this.expect(k, 1);
    const pending = keys.filter((k) => !(this.opts.resume && this.stored(k) !== null));
    if (jobs <= 1 || pending.length <= 1) {
      const out: T[] = [];
      for (const k of keys) out.push(await this.run(k, () => compute(k)));
      return out;
    }
    const t0 = this.now();
    const children = new Set<ReturnType<typeof spawn>>();
    let next = 0;
    let failed = false;
    const worker = async (): Promise<void> => {
      while (!failed && next < pending.length) {
        const key = pending[next++]!;
        const child = spawn(process.execPath, [...tsLoaderFlags(), ...childArgs(key)], { stdio: ['ignore', 'inherit', 'inherit'] });
        children.add(child);
        const code = await new Promise<number | string>((resolve) => {
          child.on('exit', (c, signal) => resolve(c ?? signal ?? 'unknown'));
          child.on('error', (e) => resolve(e.message));
        });
        children.delete(child);
        if (code !== 0) {
          if (failed) return; // stopped because another phase failed
          failed = true;
          throw new Error(`phase '${key}' failed in its child process (exit ${code})`);
        }
        this.done.add(key);
        this.print(`[phases] ${this.done.size}/${this.weights.size} done (${key}, in a child process)`);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(jobs, pending.length) }, worker));
    } catch (e) {
      failed = true;
      for (const c of children) c.kill();
      throw e;
    }
    this.spentMs += this.now() - t0;
    for (const k of pending) this.computedWeight += this.weights.get(k) ?? 1;
    this.print(`[phases] overall ETA ${formatDuration(this.etaSeconds())}`);
    const out: T[] = [];
    for (const k of keys) {
      const got = this.stored<T>(k);
      if (got === null) throw new Error(`phase '${k}': its child process exited without storing it`);
      if (!pending.includes(k)) {
        this.resumed++;
        this.print(`[phases] ${k}: resumed from ${this.path(k)}`);
      }
      this.done.add(k);
      out.push(got.result);
    }
    return out;
  }

  async run<T>(key: string, compute: () => T | Promise<T>): Promise<T> {
    if (!this.weights.has(key)) this.expect(key, 1);
    const path = this.path(key);
    const stored = this.opts.resume ? this.stored<T>(key) : null;
    if (stored !== null) {
      this.done.add(key);
      this.resumed++;
      this.print(`[phases] ${key}: resumed from ${path}`);
      return stored.result;
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
