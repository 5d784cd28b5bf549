/**
 * A small, seeded pseudo-random generator: xoshiro128** seeded through splitmix32.
 * It is pure JS integer arithmetic, so the same seed gives the same stream on
 * every platform and every backend.
 */

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * Seeded random number generator.
 * @example
 * const rng = new Rng(42);
 * rng.uniform(); // same number every run
 * rng.normal();
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | null = null;

  constructor(seed: number = 0) {
    const st = { s: seed | 0 };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
    // The high word (-1 for negative seeds, nonzero beyond 2^32) gets its own stream:
    // folding it into the low word made seeds -1 and 0 (or 2^32 + 1 and 0) collide.
    const high = Math.floor(seed / 4294967296) | 0;
    if (high !== 0) {
      const hi = { s: high };
      this.c ^= splitmix32(hi);
      this.d ^= splitmix32(hi);
    }
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal by the Box-Muller transform (the spare value is kept). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Integer uniform in [low, high). */
  int(low: number, high: number): number {
    if (!(high > low)) throw new RangeError(`randint: need high > low, got [${low}, ${high})`);
    return low + Math.floor(this.uniform() * (high - low));
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.uniform() * (i + 1));
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }

  /** `k` distinct indices drawn from 0..n-1 without replacement (or with, if `replace`). */
  choice(n: number, k: number, replace = false): Int32Array {
    if (!replace && k > n) throw new RangeError(`choice: cannot draw ${k} of ${n} without replacement`);
    if (replace) return Int32Array.from({ length: k }, () => this.int(0, n));
    return this.permutation(n).slice(0, k);
  }

  /** A new generator whose stream is independent of this one (for sub-tasks). */
  fork(): Rng {
    return new Rng(this.nextUint32() ^ (this.nextUint32() << 1));
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

let globalRng = new Rng(0);

/** Re-seeds the process-wide generator used when an op is given no seed. */
export function manualSeed(seed: number): void {
  globalRng = new Rng(seed);
}

/** The generator for an optional seed: a fresh one when given, else the global one. */
export function rngFor(seed?: number): Rng {
  return seed === undefined ? globalRng : new Rng(seed);
}
