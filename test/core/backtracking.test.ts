/**
 * Fast backtracking (Raft §5.3's optimization, thesis 5.3 / etcd-raft's findConflictByTerm): a
 * follower rejecting an AppendEntries hints {conflictIndex, conflictTerm}, the largest index of
 * its log whose term is <= the leader's prevLogTerm; the leader then skips, in its own log, every
 * entry whose term is newer than conflictTerm. Each round trip skips a whole term, on both sides.
 */
import { describe, expect, it } from '@jest/globals';
import { Network, diskWithTerms, type Disk } from './harness.js';

const rep = (term: number, n: number): number[] => new Array<number>(n).fill(term);

interface BacktrackRun {
  /** AppendEntries the leader sent n3 before n3 accepted one: the round trips spent finding the match. */
  appendsUntilMatch: number;
  rejections: string[];
}

/** n1 leads with `leaderLog` (n2 holds the same, to elect it); n3 holds `followerLog`. */
function backtrack(leaderLog: number[], followerLog: number[]): { net: Network; run: BacktrackRun } {
  const term = Math.max(...leaderLog, ...followerLog);
  const disks = new Map<string, Disk>([
    ['n1', diskWithTerms(leaderLog, { term, commit: 1 })],
    ['n2', diskWithTerms(leaderLog, { term, commit: 1 })],
    ['n3', diskWithTerms(followerLog, { term, commit: 1 })],
  ]);
  const net = new Network(['n1', 'n2', 'n3'], { disks });
  net.campaign('n1');
  const run: BacktrackRun = { appendsUntilMatch: 0, rejections: [] };
  let matched = false;
  for (let round = 0; round < 100 && net.queue.length > 0; round++) {
    // Probing: never more than one append outstanding to n3.
    expect(net.queue.filter((m) => m.type === 'AppendEntries' && m.to === 'n3').length).toBeLessThanOrEqual(1);
    for (const d of net.deliver()) {
      if (!matched && d.startsWith('n1->n3 AppendEntries')) run.appendsUntilMatch++;
      if (d.startsWith('n3->n1 AppendEntriesResponse') && d.includes(' ok ')) matched = true;
      if (d.startsWith('n3->n1 AppendEntriesResponse') && d.includes(' reject ')) run.rejections.push(d);
    }
  }
  expect(net.raft('n1').role).toBe('leader');
  // Whatever the path, n3 ends with exactly the leader's log (plus its noop) and commits it.
  expect(net.termsOf('n3')).toEqual(net.termsOf('n1'));
  expect(net.raft('n3').log.committed).toBe(net.raft('n1').log.lastIndex());
  return { net, run };
}

describe('fast backtracking with a conflict term hint', () => {
  it.each([1, 2, 3, 4])(
    'a follower with %i divergent terms of 10 entries each needs one rejected round trip per term, not one per index',
    (k) => {
      // Block j (1..k) after the common entry 1: the leader has term 2j+1, the follower term 2j.
      const leaderLog = [1];
      const followerLog = [1];
      for (let j = 1; j <= k; j++) {
        leaderLog.push(...rep(2 * j + 1, 10));
        followerLog.push(...rep(2 * j, 10));
      }
      const { run } = backtrack(leaderLog, followerLog);
      expect(run.rejections).toHaveLength(k);
      // k rejected appends, then the one that matches at index 1: where one per index would take 10k + 1.
      expect(run.appendsUntilMatch).toBe(k + 1);
      // The first hint names the follower's last entry: the largest index whose term <= the leader's prevLogTerm.
      expect(run.rejections[0]).toBe(`n3->n1 AppendEntriesResponse t${2 * k + 2} reject at=${10 * k + 1} hint=${10 * k + 1}/${2 * k}`);
    },
  );

  it('follower terms 3 and 5 against leader terms 4 and 6 (30 entries each): two rejections, three appends', () => {
    const leaderLog = [1, ...rep(2, 30), ...rep(4, 30), ...rep(6, 30)];
    const followerLog = [1, ...rep(2, 30), ...rep(3, 30), ...rep(5, 31)];
    const { run } = backtrack(leaderLog, followerLog);
    expect(run.rejections).toEqual([
      'n3->n1 AppendEntriesResponse t7 reject at=91 hint=91/5',
      // The leader skipped its whole term 6 (none of it can match a follower whose term there is 5).
      'n3->n1 AppendEntriesResponse t7 reject at=61 hint=61/3',
    ]);
    expect(run.appendsUntilMatch).toBe(3);
  });

  it('a follower missing 50 entries is found in one round trip and caught up in one append', () => {
    const { net, run } = backtrack([1, ...rep(2, 50)], [1]);
    expect(run.rejections).toEqual(['n3->n1 AppendEntriesResponse t3 reject at=51 hint=1/1']);
    expect(run.appendsUntilMatch).toBe(2);
    expect(net.raft('n3').log.lastIndex()).toBe(52);
  });

  it('a follower with a long uncommitted suffix of many stale terms is truncated after one round trip', () => {
    // n3 led terms 2..5 alone, appending 10 entries each that never replicated.
    const followerLog = [1, ...rep(2, 10), ...rep(3, 10), ...rep(4, 10), ...rep(5, 10)];
    const { net, run } = backtrack([1, ...rep(6, 5)], followerLog);
    // Its hint 6/2 makes the leader skip its own term-6 entries at once: the match is at 1.
    expect(run.rejections).toEqual(['n3->n1 AppendEntriesResponse t7 reject at=6 hint=6/2']);
    expect(run.appendsUntilMatch).toBe(2);
    expect(net.raft('n3').log.lastIndex()).toBe(7);
  });
});
