/**
 * The crash drill's verdicts are only as good as its token checks: each kind of damage it must
 * catch (a token twice, out of order, never sent, acknowledged but lost) is caught here.
 */
import { describe, expect, it } from '@jest/globals';
import { ownRounds, roundsByWriter, tokenProblems } from './helpers/token-writers.js';

describe('crash drill token checks', () => {
  it('reads the rounds of each writer from a shared value, in order of appearance', () => {
    expect(roundsByWriter('a.1;b.1;a.2;b.3;')).toEqual(new Map([['a', [1, 2]], ['b', [1, 3]]]));
    expect(roundsByWriter('')).toEqual(new Map());
    expect(roundsByWriter('a.1;garbage;')).toBeNull();
    expect(ownRounds('1;2;5;')).toEqual([1, 2, 5]);
    expect(ownRounds('1;x;')).toBeNull();
  });

  it('accepts rounds in order with unacknowledged gaps and extras that were sent', () => {
    expect(tokenProblems([1, 2, 4, 5], 5, new Set([1, 2, 4]))).toEqual([]);
  });

  it('reports a round applied twice, out of order, never sent, or acknowledged and missing', () => {
    expect(tokenProblems([1, 2, 2], 3, new Set([1, 2]))).toContain('round 2 applied twice');
    expect(tokenProblems([2, 1], 2, new Set())).toEqual(['round 1 after round 2']);
    expect(tokenProblems([1, 7], 3, new Set())).toEqual(['round 7 was never sent (sent 1..3)']);
    expect(tokenProblems([1, 3], 3, new Set([1, 2, 3]))).toEqual(['acknowledged round 2 is missing']);
  });
});
