/**
 * Seeded pseudo-random numbers: xoshiro128** for draws, Murmur3-style hashing to turn
 * (seed, labels…) into independent stream keys. Only 32-bit integer arithmetic (Math.imul, >>>),
 * so every platform yields the same bits. Not cryptographic.
 */

/** A label on a derived stream: a string or a safe integer. */
export type StreamLabel = string | number;

const TWO_POW_32 = 4294967296;

/** Murmur3's 32-bit finaliser: full avalanche of one word. */
function fmix32(h: number): number {
  let x = h >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Murmur3 (x86, 32-bit) over a list of words, with a lane seed. */
function murmurWords(words: readonly number[], seed: number): number {
  let h = seed >>> 0;
  for (const word of words) {
    let k = Math.imul(word >>> 0, 0xcc9e2d51);
    k = rotl(k, 15);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = rotl(h, 13);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  return fmix32(h ^ (words.length * 4));
}

/** Words that encode labels unambiguously: a type tag, then the value (numbers as two 32-bit halves). */
function labelWords(labels: readonly StreamLabel[]): number[] {
  const words: number[] = [];
  for (const label of labels) {
    if (typeof label === 'number') {
      if (!Number.isSafeInteger(label)) throw new Error(`rng: label ${label} is not a safe integer`);
      words.push(1, label >>> 0, Math.floor(label / TWO_POW_32) >>> 0);
    } else {
      words.push(2, label.length);
      for (let i = 0; i < label.length; i++) words.push(label.charCodeAt(i));
    }
  }
  return words;
}

// Four different lane seeds give four (practically) independent 32-bit hashes: a 128-bit key.
const LANE_SEEDS = [0x9e3779b9, 0x243f6a88, 0x85a308d3, 0x13198a2e];

function keyFromWords(words: readonly number[]): Uint32Array {
  const key = new Uint32Array(LANE_SEEDS.map((seed) => murmurWords(words, seed)));
  // xoshiro's one forbidden state.
  if ((key[0] | key[1] | key[2] | key[3]) === 0) key[0] = 1;
  return key;
}

/** A deterministic 32-bit hash of labels (e.g. to split a key space by seed). */
export function hashLabels(...labels: StreamLabel[]): number {
  return murmurWords(labelWords(labels), LANE_SEEDS[0]);
}

/** A seeded random stream (xoshiro128**). */
export class Rng {
  /** The 128-bit identity of this stream; derived streams hash it, never the current state. */
  readonly key: Uint32Array;
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(key: Uint32Array) {
    this.key = Uint32Array.from(key);
    this.s0 = key[0];
    this.s1 = key[1];
    this.s2 = key[2];
    this.s3 = key[3];
  }

  /**
   * An independent stream named by labels. It depends only on this stream's key and the labels,
   * not on how many numbers were drawn here, so adding draws to one stream never shifts another.
   * The same labels give the same stream every time.
   */
  derive(...labels: StreamLabel[]): Rng {
    return new Rng(keyFromWords([...this.key, ...labelWords(labels)]));
  }

  /** Uniform on [0, 2^32). */
  uint32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ s1) >>> 0;
    this.s1 = (s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform on [0, 1), in steps of 2^-32. */
  float(): number {
    return this.uint32() / TWO_POW_32;
  }

  /** Uniform on [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.float();
  }

  /** A uniform integer in [low, high) (high exclusive), without modulo bias. */
  int(low: number, high: number): number {
    const range = high - low;
    if (!Number.isSafeInteger(low) || !Number.isSafeInteger(high) || range < 1 || range > TWO_POW_32)
      throw new Error(`rng.int: need integers with 1 <= high - low <= 2^32, got [${low}, ${high})`);
    // Reject the top partial block so every residue is equally likely.
    const limit = TWO_POW_32 - (TWO_POW_32 % range);
    let u = this.uint32();
    while (u >= limit) u = this.uint32();
    return low + (u % range);
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.float() < p;
  }

  /** One element, uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('rng.pick: empty list');
    return items[this.int(0, items.length)];
  }

  /** An index drawn with probability proportional to its (non-negative) weight. */
  weightedIndex(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) {
      if (!(w >= 0) || !Number.isFinite(w)) throw new Error(`rng.weightedIndex: bad weight ${w}`);
      total += w;
    }
    if (total <= 0) throw new Error('rng.weightedIndex: weights sum to 0');
    let r = this.float() * total;
    for (let i = 0; i < weights.length; i++) {
      if (r < weights[i]) return i;
      r -= weights[i];
    }
    // Rounding can leave r just past the last bucket: fall back to the last positive weight.
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
    throw new Error('unreachable');
  }

  /** Fisher–Yates shuffle in place; returns its argument. */
  shuffle<T extends { length: number; [index: number]: unknown }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** k distinct integers from [0, n), in random order. */
  sample(n: number, k: number): Int32Array {
    if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || k > n)
      throw new Error(`rng.sample: cannot draw ${k} distinct values from ${n}`);
    const out = new Int32Array(k);
    if (k * 4 > n) {
      // Dense: partial Fisher–Yates over the whole range.
      const pool = new Int32Array(n);
      for (let i = 0; i < n; i++) pool[i] = i;
      for (let i = 0; i < k; i++) {
        const j = this.int(i, n);
        const tmp = pool[i];
        pool[i] = pool[j];
        pool[j] = tmp;
        out[i] = pool[i];
      }
      return out;
    }
    // Sparse: rejection keeps memory at O(k).
    const seen = new Set<number>();
    for (let i = 0; i < k; i++) {
      let v = this.int(0, n);
      while (seen.has(v)) v = this.int(0, n);
      seen.add(v);
      out[i] = v;
    }
    return out;
  }

  /** k distinct elements of items, in random order. */
  sampleFrom<T>(items: readonly T[], k: number): T[] {
    return Array.from(this.sample(items.length, k), (i) => items[i]);
  }
}

/**
 * The stream for a seed, optionally narrowed by labels: `createRng(seed, 'functions')` and
 * `createRng(seed, 'data')` are independent. Equal to `createRng(seed).derive(...labels)`.
 */
export function createRng(seed: number, ...labels: StreamLabel[]): Rng {
  const root = new Rng(keyFromWords(labelWords([seed])));
  return labels.length === 0 ? root : root.derive(...labels);
}
