import { describe, expect, it } from '@jest/globals';
import type { Entry, NodeId } from '../../src/consensus/core/messages.js';
import type { Role } from '../../src/consensus/core/ready.js';
import { SafetyChecker, type NodeView } from './checkers/safety.js';
import { MemoryDurableStore } from './durable-store.js';

/** The safety checker on hand-made cluster states: each rule of Raft fig. 3 it holds, and what breaks it. */

const encoder = new TextEncoder();

function entry(index: number, term: number, text = `e${index}.${term}`): Entry {
  return { index, term, type: 'command', data: encoder.encode(text) };
}

/** A node as the checker sees it: a durable store plus the status its core reports. */
class FakeNode implements NodeView {
  readonly store = new MemoryDurableStore();
  incarnation = 0;
  status: { role: Role; term: number; commit: number } | null = { role: 'follower', term: 1, commit: 0 };

  constructor(readonly id: NodeId) {}

  /** Appends through the checker, as a sim node does when it persists. */
  append(checker: SafetyChecker, entries: Entry[]): this {
    const first = entries[0].index;
    const replaced: Entry[] = [];
    for (let i = first; i <= this.store.lastIndex(); i++) replaced.push(this.store.entry(i) as Entry);
    const prevTerm = this.store.term(first - 1);
    this.store.appendEntries(entries);
    checker.persisted(this.id, entries, prevTerm, replaced);
    return this;
  }

  set(role: Role, term: number, commit: number): this {
    this.status = { role, term, commit };
    return this;
  }

  safetyStatus(): { role: Role; term: number; commit: number; settled: boolean; hostApplied: number } | null {
    return this.status === null ? null : { ...this.status, settled: true, hostApplied: 0 };
  }
}

function cluster(size: number): FakeNode[] {
  return Array.from({ length: size }, (_, i) => new FakeNode(`n${i + 1}`));
}

describe('safety checker: election safety (Raft 5.2)', () => {
  it('accepts one leader per term, and a new leader in a later term', () => {
    const checker = new SafetyChecker();
    checker.roleObserved('n1', 'leader', 2);
    checker.roleObserved('n1', 'leader', 2);
    checker.roleObserved('n2', 'leader', 3);
    expect(checker.violations).toEqual([]);
    expect(checker.leaderTermCount()).toBe(2);
  });

  it('catches two leaders in one term', () => {
    const checker = new SafetyChecker();
    checker.roleObserved('n1', 'leader', 2);
    checker.roleObserved('n2', 'leader', 2);
    expect(checker.violations.join('\n')).toContain('election safety: n1 and n2 both leader in term 2');
  });
});

describe('safety checker: log matching (Raft 5.3)', () => {
  it('catches two different entries with the same index and term', () => {
    const checker = new SafetyChecker();
    const [a, b] = cluster(2);
    a.append(checker, [entry(1, 1, 'put x')]);
    b.append(checker, [entry(1, 1, 'put y')]);
    expect(checker.violations.join('\n')).toContain('log matching: n2 persisted a different entry at 1@1');
  });

  it('catches equal entries preceded by different terms', () => {
    const checker = new SafetyChecker();
    const [a, b] = cluster(2);
    a.append(checker, [entry(1, 1), entry(2, 3, 'same')]);
    b.append(checker, [entry(1, 2), entry(2, 3, 'same')]);
    expect(checker.violations.join('\n')).toContain('log matching: n2 has term 2 before 2@3');
  });
});

describe('safety checker: committed entries (Raft 5.4)', () => {
  it('accepts a follower overwriting an uncommitted suffix', () => {
    const checker = new SafetyChecker();
    const nodes = cluster(3);
    const [a, b] = nodes;
    a.append(checker, [entry(1, 1), entry(2, 1)]).set('follower', 2, 1);
    b.append(checker, [entry(1, 1)]);
    checker.checkNodes(nodes);
    a.append(checker, [entry(2, 2)]);
    checker.checkNodes(nodes);
    expect(checker.violations).toEqual([]);
  });

  it('catches a committed entry truncated', () => {
    const checker = new SafetyChecker();
    const nodes = cluster(3);
    const [a] = nodes;
    a.append(checker, [entry(1, 1), entry(2, 1)]).set('follower', 1, 2);
    checker.checkNodes(nodes);
    a.append(checker, [entry(2, 2)]);
    expect(checker.violations.join('\n')).toContain('committed entry changed: n1 truncated committed 2@1');
  });

  it('catches a leader missing an entry committed in an earlier term', () => {
    const checker = new SafetyChecker();
    const nodes = cluster(3);
    const [a, b, c] = nodes;
    a.append(checker, [entry(1, 1)]).set('follower', 1, 1);
    b.append(checker, [entry(1, 1)]);
    checker.checkNodes(nodes);
    a.status = null; // crashed
    c.append(checker, [entry(1, 3)]).set('leader', 3, 0);
    checker.checkNodes(nodes);
    expect(checker.violations.join('\n')).toContain('leader completeness: n3 leads term 3 holding 1@3 at committed 1@1');
  });

  it('catches a premature commit while the entry can still be overwritten (Raft fig. 8)', () => {
    // Fig. 8 (c) with three nodes: n1 led term 2 and wrote 2@2 to itself; n3 led term 3 and wrote
    // 2@3 to itself only; n1, leading again in term 4, copies 2@2 to n2 and commits it by counting
    // replicas. n3 (last entry 2@3) is still as up to date as n2 and itself: it can win term 5 and
    // overwrite index 2, so the commit was premature even before anyone overwrites it.
    const checker = new SafetyChecker();
    const nodes = cluster(3);
    const [n1, n2, n3] = nodes;
    n1.append(checker, [entry(1, 1), entry(2, 2)]).set('leader', 4, 2);
    n2.append(checker, [entry(1, 1), entry(2, 2)]).set('follower', 4, 1);
    n3.append(checker, [entry(1, 1), entry(2, 3)]).set('follower', 4, 1);
    checker.checkNodes(nodes);
    expect(checker.violations.join('\n')).toContain('leader completeness: n3 could be elected');
  });

  it('accepts the same logs once the leader committed an entry of its own term (fig. 8 (e))', () => {
    const checker = new SafetyChecker();
    const nodes = cluster(3);
    const [n1, n2, n3] = nodes;
    n1.append(checker, [entry(1, 1), entry(2, 2), entry(3, 4)]).set('leader', 4, 3);
    n2.append(checker, [entry(1, 1), entry(2, 2), entry(3, 4)]).set('follower', 4, 1);
    n3.append(checker, [entry(1, 1), entry(2, 3)]).set('follower', 4, 1);
    checker.checkNodes(nodes);
    expect(checker.violations).toEqual([]);
  });

  it('counts a crashed node by its durable log', () => {
    const checker = new SafetyChecker();
    const nodes = cluster(3);
    const [n1, n2, n3] = nodes;
    n1.append(checker, [entry(1, 1), entry(2, 2)]).set('leader', 4, 2);
    n2.append(checker, [entry(1, 1), entry(2, 2)]).set('follower', 4, 1);
    n3.append(checker, [entry(1, 1), entry(2, 3)]);
    n3.status = null;
    checker.checkNodes(nodes);
    expect(checker.violations.join('\n')).toContain('n3 could be elected');
  });
});

describe('safety checker: state machine safety', () => {
  it('catches two nodes applying different entries at one index', () => {
    const checker = new SafetyChecker();
    checker.applied('n1', entry(1, 1, 'put x'));
    checker.applied('n2', entry(1, 1, 'put x'));
    expect(checker.violations).toEqual([]);
    checker.applied('n3', entry(1, 2, 'put y'));
    expect(checker.violations.join('\n')).toContain('state machine safety: n3 applied 1@2, n1 applied 1@1');
  });

  it('catches two different snapshots of one index', () => {
    const checker = new SafetyChecker();
    const config = { voters: ['n1', 'n2', 'n3'] };
    checker.snapshotAt('n1', { index: 5, term: 1, config }, encoder.encode('{"x":1}'));
    checker.snapshotAt('n2', { index: 5, term: 1, config }, encoder.encode('{"x":1}'));
    expect(checker.violations).toEqual([]);
    checker.snapshotAt('n3', { index: 5, term: 1, config }, encoder.encode('{"x":2}'));
    expect(checker.violations.join('\n')).toContain('n3 and n1 hold different snapshots at index 5');
  });
});
