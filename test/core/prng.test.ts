import { describe, expect, it } from '@jest/globals';
import { Prng } from '../../src/consensus/core/prng.js';

describe('Prng (xoshiro128**)', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const seq = (seed: number): number[] => {
      const p = new Prng(seed);
      return Array.from({ length: 8 }, () => p.nextUint32());
    };
    expect(seq(1)).toEqual(seq(1));
    expect(seq(1)).not.toEqual(seq(2));
    expect(seq(2 ** 40 + 1)).not.toEqual(seq(1)); // high bits of large seeds count
    expect(seq(0).every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32)).toBe(true);
  });

  it('nextInt stays in [min, max) and covers it roughly uniformly', () => {
    const p = new Prng(123);
    const counts = new Array<number>(10).fill(0);
    for (let k = 0; k < 20_000; k++) {
      const v = p.nextInt(30, 40);
      expect(v).toBeGreaterThanOrEqual(30);
      expect(v).toBeLessThan(40);
      counts[v - 30] = (counts[v - 30] as number) + 1;
    }
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(250);
    expect(() => p.nextInt(5, 5)).toThrow(RangeError);
  });

  it('forks independent, reproducible streams', () => {
    const a = new Prng(7);
    const b = new Prng(7);
    const fa = a.fork();
    const fb = b.fork();
    expect(fa.nextUint32()).toBe(fb.nextUint32());
    expect(fa.nextUint32()).not.toBe(a.nextUint32());
    const shuffled = new Prng(3).shuffle([1, 2, 3, 4, 5, 6]);
    expect([...shuffled].sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
