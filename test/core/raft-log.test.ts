import { describe, expect, it } from '@jest/globals';
import { RaftLog, entryBytes } from '../../src/consensus/core/raft-log.js';
import { RaftInvariantError } from '../../src/consensus/core/invariant.js';
import type { Entry, SnapshotMeta } from '../../src/consensus/core/messages.js';

const config = { voters: ['n1', 'n2', 'n3'] };
const none: SnapshotMeta = { index: 0, term: 0, config };

function entries(from: number, terms: number[]): Entry[] {
  return terms.map((term, k) => ({ index: from + k, term, type: 'command', data: new Uint8Array(10) }));
}

function termsOf(log: RaftLog): number[] {
  const out: number[] = [];
  for (let i = log.firstIndex(); i <= log.lastIndex(); i++) out.push(log.term(i) as number);
  return out;
}

describe('RaftLog', () => {
  it('looks up terms in the window, the snapshot boundary, and outside', () => {
    const log = new RaftLog({ index: 5, term: 2, config }, entries(6, [2, 3, 3]), 5, 5);
    expect(log.firstIndex()).toBe(6);
    expect(log.lastIndex()).toBe(8);
    expect(log.term(5)).toBe(2);
    expect(log.term(4)).toBeUndefined();
    expect(log.term(7)).toBe(3);
    expect(log.term(9)).toBeUndefined();
    expect(log.lastTerm()).toBe(3);
  });

  it('maybeAppend: accepts on a match, truncates only a conflicting suffix, rejects on a mismatch', () => {
    const log = new RaftLog(none, entries(1, [1, 1, 2, 2]), 1, 0);
    expect(log.maybeAppend(4, 3, 0, [])).toBeNull(); // prev term mismatch
    expect(log.maybeAppend(6, 2, 0, [])).toBeNull(); // prev beyond our log
    // A duplicate prefix changes nothing and claims only what it covers.
    expect(log.maybeAppend(1, 1, 1, entries(2, [1]))).toBe(2);
    expect(termsOf(log)).toEqual([1, 1, 2, 2]);
    // A conflict at 3 truncates 3..4 and appends.
    expect(log.maybeAppend(2, 1, 3, entries(3, [3]))).toBe(3);
    expect(termsOf(log)).toEqual([1, 1, 3]);
    expect(log.committed).toBe(3);
  });

  it('never truncates a committed entry: that is a broken invariant, not an expected outcome', () => {
    const log = new RaftLog(none, entries(1, [1, 1, 2]), 3, 0);
    expect(() => log.maybeAppend(1, 1, 3, entries(2, [4]))).toThrow(RaftInvariantError);
    expect(() => log.maybeAppend(1, 1, 3, entries(2, [4]))).toThrow(/committed/);
  });

  it('findConflictByTerm skips every entry of a newer term in one step', () => {
    const log = new RaftLog(none, entries(1, [1, 2, 2, 2, 5, 5, 5]), 0, 0);
    expect(log.findConflictByTerm(7, 4)).toEqual({ index: 4, term: 2 });
    expect(log.findConflictByTerm(7, 1)).toEqual({ index: 1, term: 1 });
    expect(log.findConflictByTerm(7, 0)).toEqual({ index: 0, term: 0 });
    expect(log.findConflictByTerm(99, 9)).toEqual({ index: 7, term: 5 });
    const compacted = new RaftLog({ index: 4, term: 2, config }, entries(5, [5, 5, 5]), 4, 4);
    expect(compacted.findConflictByTerm(7, 1)).toEqual({ index: 3, term: 0 }); // below the snapshot: unknown
  });

  it('tracks the unstable tail and marks it stable only if it still matches', () => {
    const log = new RaftLog(none, entries(1, [1]), 1, 1);
    log.append(entries(2, [2, 2]));
    expect(log.unstableEntries().map((e) => e.index)).toEqual([2, 3]);
    expect(log.stableLastIndex()).toBe(1);
    log.stableTo(3, 9); // wrong term: the log changed since that Ready
    expect(log.stableLastIndex()).toBe(1);
    log.stableTo(3, 2);
    expect(log.unstableEntries()).toEqual([]);
    expect(log.stableLastIndex()).toBe(3);
  });

  it('hands out committed entries only once persisted, bounded by count and bytes', () => {
    const log = new RaftLog(none, [], 0, 0);
    log.append(entries(1, [1, 1, 1, 1, 1]));
    log.commitTo(5);
    expect(log.nextCommittedEntries(100, 1e9)).toEqual([]);
    log.stableTo(4, 1);
    expect(log.nextCommittedEntries(100, 1e9).map((e) => e.index)).toEqual([1, 2, 3, 4]);
    expect(log.nextCommittedEntries(2, 1e9).map((e) => e.index)).toEqual([1, 2]);
    const one = entryBytes(entries(1, [1])[0] as Entry);
    expect(log.nextCommittedEntries(100, one * 3).map((e) => e.index)).toEqual([1, 2, 3]);
    expect(log.nextCommittedEntries(100, 1).map((e) => e.index)).toEqual([1]); // always one
  });

  it('compacts only applied, persisted, matching prefixes', () => {
    const log = new RaftLog(none, entries(1, [1, 1, 2, 2]), 4, 3);
    expect(() => log.compact({ index: 4, term: 2, config })).toThrow(/beyond applied/);
    expect(() => log.compact({ index: 3, term: 1, config })).toThrow(/does not match/);
    expect(log.compact({ index: 3, term: 2, config })).toBe(true);
    expect(log.firstIndex()).toBe(4);
    expect(log.compact({ index: 2, term: 1, config })).toBe(false); // stale
    expect(log.entriesFrom(4, 10, 1e9).map((e) => e.index)).toEqual([4]);
  });

  it('restore() replaces the log with a snapshot past its commit, pending until persisted', () => {
    const log = new RaftLog(none, entries(1, [1, 1]), 1, 1);
    const snap = { index: 10, term: 3, config };
    log.restore(snap);
    expect(log.pendingSnapshotMeta()).toEqual(snap);
    expect(log.lastIndex()).toBe(10);
    expect(log.committed).toBe(10);
    expect(log.nextCommittedEntries(100, 1e9)).toEqual([]);
    log.stableSnapshotTo(10);
    expect(log.pendingSnapshotMeta()).toBeUndefined();
  });
});
