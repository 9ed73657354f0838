import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { SessionTable, type SessionDecision } from '../../src/sessions/session-table.js';

const HOUR = 3_600_000;

describe('SessionTable: exactly-once decisions (Raft thesis 6.3)', () => {
  it('applies the first write of a client, then answers a retry of it with the stored answer', () => {
    const table = new SessionTable<string>();
    table.advanceLogTime(1000);
    expect(table.decide('c1', 1)).toEqual({ kind: 'apply' });
    table.record('c1', 1, 'answer-1');
    expect(table.decide('c1', 1)).toEqual({ kind: 'duplicate', answer: 'answer-1' });
    expect(table.decide('c1', 2)).toEqual({ kind: 'apply' });
    table.record('c1', 2, 'answer-2');
    expect(table.decide('c1', 2)).toEqual({ kind: 'duplicate', answer: 'answer-2' });
  });

  it('answers stale for a seq below the latest applied one', () => {
    const table = new SessionTable<string>();
    table.record('c1', 5, 'five');
    expect(table.decide('c1', 4)).toEqual({ kind: 'stale', latestSeq: 5 });
    expect(table.decide('c1', 0)).toEqual({ kind: 'stale', latestSeq: 5 });
  });

  it('keeps clients apart', () => {
    const table = new SessionTable<string>();
    table.record('a', 3, 'a3');
    table.record('b', 1, 'b1');
    expect(table.decide('a', 3)).toEqual({ kind: 'duplicate', answer: 'a3' });
    expect(table.decide('b', 1)).toEqual({ kind: 'duplicate', answer: 'b1' });
    expect(table.decide('b', 3)).toEqual({ kind: 'apply' });
    expect(table.size).toBe(2);
  });

  it('accepts seq gaps (a client may skip numbers) and refuses to record a seq not above the latest', () => {
    const table = new SessionTable<string>();
    table.record('c', 1, 'one');
    expect(table.decide('c', 10)).toEqual({ kind: 'apply' });
    table.record('c', 10, 'ten');
    expect(table.get('c')?.lastSeq).toBe(10);
    expect(() => table.record('c', 10, 'again')).toThrow(/not above/);
  });
});

describe('SessionTable: log time and expiry', () => {
  it('never moves log time backwards (a new leader with a lagging clock)', () => {
    const table = new SessionTable<string>();
    table.advanceLogTime(5000);
    table.advanceLogTime(3000);
    expect(table.logTimeMs).toBe(5000);
  });

  it('expires a session idle for more than the TTL, and only then', () => {
    const table = new SessionTable<string>({ sessionTtlMs: 1000, sessionsMax: 10 });
    table.advanceLogTime(10_000);
    table.record('c', 1, 'one');
    expect(table.advanceLogTime(11_000)).toBe(0); // idle exactly the TTL: still alive
    expect(table.decide('c', 1)).toEqual({ kind: 'duplicate', answer: 'one' }); // and touched at 11 000
    expect(table.advanceLogTime(12_000)).toBe(0);
    expect(table.advanceLogTime(12_001)).toBe(1);
    expect(table.get('c')).toBeUndefined();
    // After expiry the client is new again: its retry would be applied (the TTL bounds retries).
    expect(table.decide('c', 1)).toEqual({ kind: 'apply' });
  });

  it('expires oldest first and stops at the first live session', () => {
    const table = new SessionTable<string>({ sessionTtlMs: 100, sessionsMax: 10 });
    const expiredAt: number[] = [];
    for (const [t, id] of [[0, 'a'], [50, 'b'], [100, 'c'], [150, 'd']] as const) {
      expiredAt.push(table.advanceLogTime(t));
      table.record(id, 1, id);
    }
    expect(expiredAt).toEqual([0, 0, 0, 1]); // at 150, a is idle 150 > 100
    expect(table.advanceLogTime(201)).toBe(2); // b idle 151 and c idle 101 go; d idle 51 stays
    expect([...table.records()].map((r) => r.clientId)).toEqual(['d']);
  });

  it('a stale or duplicate write refreshes the session, so an active client is not expired', () => {
    const table = new SessionTable<string>({ sessionTtlMs: 100, sessionsMax: 10 });
    table.record('c', 2, 'two');
    table.advanceLogTime(90);
    table.decide('c', 1); // stale, but the client is alive
    expect(table.advanceLogTime(180)).toBe(0);
    expect(table.get('c')?.lastSeenMs).toBe(90);
  });
});

describe('SessionTable: bound and eviction', () => {
  it('never holds more than sessionsMax: a new client evicts the least recently used', () => {
    const table = new SessionTable<string>({ sessionTtlMs: HOUR, sessionsMax: 3 });
    table.advanceLogTime(1);
    table.record('a', 1, 'a');
    table.record('b', 1, 'b');
    table.record('c', 1, 'c');
    table.decide('a', 1); // a retry makes a the most recent
    table.record('d', 1, 'd');
    expect(table.size).toBe(3);
    expect(table.get('b')).toBeUndefined();
    expect([...table.records()].map((r) => r.clientId)).toEqual(['c', 'a', 'd']);
  });

  it('a known client writing again does not evict anyone', () => {
    const table = new SessionTable<string>({ sessionTtlMs: HOUR, sessionsMax: 2 });
    table.record('a', 1, 'a');
    table.record('b', 1, 'b');
    table.record('a', 2, 'a2');
    expect([...table.records()].map((r) => r.clientId)).toEqual(['b', 'a']);
  });

  it('ties in time are broken by log order, the same on every replica', () => {
    const table = new SessionTable<string>({ sessionTtlMs: HOUR, sessionsMax: 2 });
    table.advanceLogTime(7);
    table.record('zeta', 1, 'z'); // same log time for all three
    table.record('alpha', 1, 'a');
    table.record('mid', 1, 'm');
    expect([...table.records()].map((r) => r.clientId)).toEqual(['alpha', 'mid']);
  });

  it('lowering the limit evicts down to it at once', () => {
    const table = new SessionTable<string>({ sessionTtlMs: HOUR, sessionsMax: 5 });
    for (const id of ['a', 'b', 'c', 'd', 'e']) table.record(id, 1, id);
    expect(table.setLimits({ sessionTtlMs: HOUR, sessionsMax: 2 })).toBe(3);
    expect([...table.records()].map((r) => r.clientId)).toEqual(['d', 'e']);
  });

  it('rejects limits that are not positive integers', () => {
    expect(() => new SessionTable<string>({ sessionTtlMs: 0, sessionsMax: 1 })).toThrow(/sessionTtlMs/);
    expect(() => new SessionTable<string>({ sessionTtlMs: 1, sessionsMax: 0.5 })).toThrow(/sessionsMax/);
  });
});

describe('SessionTable: state for snapshots', () => {
  it('round-trips through toState/fromState and decides the same afterwards', () => {
    const table = new SessionTable<string>({ sessionTtlMs: 500, sessionsMax: 3 });
    for (const [t, id, seq] of [[10, 'a', 1], [20, 'b', 4], [30, 'c', 2], [40, 'a', 2]] as const) {
      table.advanceLogTime(t);
      table.record(id, seq, `${id}${seq}`);
    }
    const copy = SessionTable.fromState(table.toState());
    expect(copy.logTimeMs).toBe(40);
    expect(copy.limits).toEqual({ sessionTtlMs: 500, sessionsMax: 3 });
    for (const [id, seq] of [['a', 2], ['a', 1], ['b', 4], ['b', 5], ['c', 2], ['zz', 1]] as const) {
      expect(copy.decide(id, seq)).toEqual(table.decide(id, seq));
    }
    expect([...copy.records()]).toEqual([...table.records()]);
  });

  it('a state taken earlier does not change when the table does', () => {
    const table = new SessionTable<string>();
    table.record('a', 1, 'a1');
    const state = table.toState();
    table.record('a', 2, 'a2');
    table.record('b', 1, 'b1');
    expect(state.records).toEqual([{ clientId: 'a', lastSeq: 1, answer: 'a1', lastSeenMs: 0 }]);
  });

  it('refuses a state out of recency order, with a client twice, or over its limit', () => {
    const limits = { sessionTtlMs: 100, sessionsMax: 1 };
    const rec = (clientId: string, lastSeenMs: number) => ({ clientId, lastSeq: 1, answer: 'x', lastSeenMs });
    expect(() => SessionTable.fromState({ limits: { ...limits, sessionsMax: 5 }, logTimeMs: 9, records: [rec('a', 5), rec('b', 3)] })).toThrow(/order/);
    expect(() => SessionTable.fromState({ limits: { ...limits, sessionsMax: 5 }, logTimeMs: 9, records: [rec('a', 1), rec('a', 3)] })).toThrow(/twice/);
    expect(() => SessionTable.fromState({ limits, logTimeMs: 9, records: [rec('a', 1), rec('b', 3)] })).toThrow(/limit/);
  });
});

describe('SessionTable: determinism', () => {
  type Step = { t: number; client: string; seq: number } | { t: number; limits: number };
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 9, arbitrary: fc.record({ t: fc.nat({ max: 2000 }), client: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), seq: fc.nat({ max: 6 }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.nat({ max: 2000 }), limits: fc.integer({ min: 1, max: 5 }) }) },
  );

  function run(steps: Step[], startLimits: number, restoreAt: number): { decisions: SessionDecision<string>[]; records: unknown } {
    let table = new SessionTable<string>({ sessionTtlMs: 300, sessionsMax: startLimits });
    const decisions: SessionDecision<string>[] = [];
    steps.forEach((s, i) => {
      if (i === restoreAt) table = SessionTable.fromState(table.toState());
      table.advanceLogTime(s.t);
      if ('limits' in s) {
        table.setLimits({ sessionTtlMs: 300, sessionsMax: s.limits });
        return;
      }
      const d = table.decide(s.client, s.seq);
      decisions.push(d);
      if (d.kind === 'apply') table.record(s.client, s.seq, `${s.client}:${s.seq}@${i}`);
      expect(table.size).toBeLessThanOrEqual(table.limits.sessionsMax);
    });
    return { decisions, records: [...table.records()] };
  }

  it('two tables fed the same entries decide identically, with or without a snapshot restore in between', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), fc.nat({ max: 80 }), (steps, restoreAt) => {
        const a = run(steps, 3, -1);
        const b = run(steps, 3, restoreAt);
        expect(b).toEqual(a);
      }),
      { numRuns: 300 },
    );
  });
});
