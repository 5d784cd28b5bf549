/**
 * PyTorch as a peer: when `python3 -c 'import torch'` works (Debian's python3-torch),
 * the bench writes the shared inputs as raw little-endian files, runs
 * bench/lib/torch_peer.py in a child process, and reads back PyTorch's median time per
 * thread count and three training losses from the same initial weights. When torch is
 * missing the bench says so in one line and goes on; CI never needs it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The first Python that can import torch (`TSGRAD_PYTHON`, else `python3` on the PATH,
 * else Debian's /usr/bin/python3, where python3-torch installs even when a pyenv or venv
 * python3 comes first), with torch's version; or why none can.
 */
export function torchAvailable(): { ok: true; python: string; version: string } | { ok: false; reason: string } {
  const candidates = process.env.TSGRAD_PYTHON ? [process.env.TSGRAD_PYTHON] : ['python3', '/usr/bin/python3'];
  for (const python of candidates) {
    const run = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
    if (!run.error && run.status === 0) return { ok: true, python, version: run.stdout.trim() };
  }
  return { ok: false, reason: `no Python among ${candidates.join(', ')} can import torch (Debian: apt-get install python3-torch)` };
}

/** One tensor handed to PyTorch. */
export interface TorchTensor {
  name: string;
  shape: readonly number[];
  data: Float32Array | Int32Array;
}

export interface TorchCaseResult {
  /** Median ms per thread count. */
  threads: Record<string, { ms: number; runs: number[] }>;
  /** The fastest thread count's median (PyTorch at its best, as the issue asks). */
  best: number;
  bestThreads: number;
}

export interface TorchResults {
  torch: string;
  /** The BLAS library files torch loaded (reference BLAS makes every PyTorch number several times slower). */
  blas: string;
  cases: Record<string, TorchCaseResult>;
  /** Three training losses per training case, from the shared initial weights. */
  losses: Record<string, number[]>;
}

/**
 * Runs the PyTorch side on `tensors` (names as torch_peer.py expects them) and returns
 * its results, or throws with PyTorch's error output.
 */
export function runTorch(python: string, tensors: TorchTensor[], meta: { quick: boolean; threads: number[]; matmul: number[]; mlp: { sizes: number[] }; gpt: object; conv: object }): TorchResults {
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-torch-'));
  try {
    const entries = tensors.map((t, i) => {
      const file = `t${i}.bin`;
      writeFileSync(join(dir, file), new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      return { name: t.name, shape: t.shape, dtype: t.data instanceof Float32Array ? 'float32' : 'int32', file };
    });
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...meta, tensors: entries }));
    const run = spawnSync(python, [join(import.meta.dirname, 'torch_peer.py'), join(dir, 'manifest.json')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 64 * 1024 * 1024,
      timeout: 30 * 60_000,
    });
    if (run.status !== 0) throw new Error(`torch_peer.py exited with ${run.status ?? run.signal}`);
    return JSON.parse(run.stdout) as TorchResults;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Whether two loss sequences agree to float32 training precision (relative 1e-3 per step,
 * loose enough for different summation orders over three Adam steps, tight enough to
 * catch a different model or optimizer).
 * @example lossesAgree([2.3, 2.1], [2.3001, 2.1002]) // true
 */
export function lossesAgree(a: readonly number[], b: readonly number[], rel = 1e-3): boolean {
  return a.length === b.length && a.every((x, i) => Math.abs(x - b[i]!) <= rel * Math.max(1, Math.abs(x)));
}
