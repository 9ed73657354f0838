/**
 * A small seeded PRNG (xoshiro128**, seeded through splitmix32). Every source of randomness in
 * the core and in the simulator is one of these, injected, so a seed replays a run exactly.
 * Not for cryptography.
 */
export class Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** `seed`: any finite number; integers up to 2^53 are mixed in whole. */
  constructor(readonly seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`Prng seed must be a finite number, got ${seed}`);
    const whole = Math.floor(Math.abs(seed));
    let x = (whole >>> 0) ^ Math.imul(Math.floor(whole / 2 ** 32) >>> 0, 0x9e3779b1) ^ (seed < 0 ? 0x5bd1e995 : 0);
    const splitmix32 = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = splitmix32();
    this.s1 = splitmix32();
    this.s2 = splitmix32();
    this.s3 = splitmix32();
    // xoshiro must not start from the all-zero state (it would stay there).
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A uniform integer in [0, 2^32). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform float in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 2 ** 32;
  }

  /** A uniform integer in [minInclusive, maxExclusive). */
  nextInt(minInclusive: number, maxExclusive: number): number {
    if (!Number.isInteger(minInclusive) || !Number.isInteger(maxExclusive) || maxExclusive <= minInclusive) {
      throw new RangeError(`Prng.nextInt needs integers min < max, got [${minInclusive}, ${maxExclusive})`);
    }
    const range = maxExclusive - minInclusive;
    if (range > 2 ** 32) throw new RangeError(`Prng.nextInt range ${range} exceeds 2^32`);
    // Rejection sampling removes the modulo bias.
    const limit = 2 ** 32 - (2 ** 32 % range);
    for (;;) {
      const r = this.nextUint32();
      if (r < limit) return minInclusive + (r % range);
    }
  }

  /** True with probability `p` (0 <= p <= 1). */
  chance(p: number): boolean {
    return this.nextFloat() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Prng.pick from an empty array');
    return items[this.nextInt(0, items.length)] as T;
  }

  /** Shuffles `items` in place (Fisher-Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.nextInt(0, i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /** An independent generator derived from this one, e.g. one per simulated node. */
  fork(): Prng {
    return new Prng(this.nextUint32() * 2 ** 21 + (this.nextUint32() >>> 11));
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
