import { describe, expect, it } from '@jest/globals';
import { checkExactlyOnce, writeToken } from '../../src/history-checks/exactly-once.js';
import { checkLinearizability } from '../../src/history-checks/linearizability.js';
import type { HistoryOp } from '../../src/history-checks/history.js';
import type { KvOp, KvResult } from '../../src/history-checks/kv-model.js';

/** Hand-made history: each op gives [invokeAt, completeAt] in one event order, or no completion. */
function history(...specs: { client?: string; op: KvOp; at: [number, number?]; result?: KvResult }[]): HistoryOp[] {
  return specs.map((spec, id) => ({
    id,
    clientId: spec.client ?? `c${id}`,
    seq: id + 1,
    op: spec.op,
    invokeAt: spec.at[0],
    invokeTick: spec.at[0],
    ...(spec.at[1] === undefined ? {} : { completeAt: spec.at[1], completeTick: spec.at[1], result: spec.result }),
  }));
}

const put = (key: string, value: string): KvOp => ({ kind: 'put', key, value });
const append = (key: string, value: string): KvOp => ({ kind: 'append', key, value });
const get = (key: string): KvOp => ({ kind: 'get', key });
const cas = (key: string, expected: string | null, value: string): KvOp => ({ kind: 'cas', key, expected, value });
const got = (value: string | null): KvResult => ({ kind: 'get', value });
const appended = (value: string): KvResult => ({ kind: 'append', value });

describe('linearizability checker: histories that are linearizable', () => {
  it('accepts a sequential history', () => {
    const h = history(
      { op: put('x', 'a'), at: [0, 1], result: { kind: 'put', value: 'a' } },
      { op: get('x'), at: [2, 3], result: got('a') },
      { op: { kind: 'delete', key: 'x' }, at: [4, 5], result: { kind: 'delete', deleted: true } },
      { op: get('x'), at: [6, 7], result: got(null) },
    );
    expect(checkLinearizability(h).ok).toBe(true);
  });

  it('lets a read concurrent with a write see either value', () => {
    const base = { op: put('x', 'a'), at: [0, 1] as [number, number], result: { kind: 'put', value: 'a' } as KvResult };
    const write = { op: put('x', 'b'), at: [2, 5] as [number, number], result: { kind: 'put', value: 'b' } as KvResult };
    for (const seen of ['a', 'b']) {
      const h = history(base, write, { op: get('x'), at: [3, 4], result: got(seen) });
      expect(checkLinearizability(h).ok).toBe(true);
    }
  });

  it('orders concurrent appends by what the readers saw, even against invoke order', () => {
    const h = history(
      { op: append('x', '1'), at: [0, 5], result: appended('21') },
      { op: append('x', '2'), at: [1, 4], result: appended('2') },
      { op: get('x'), at: [6, 7], result: got('21') },
    );
    expect(checkLinearizability(h).ok).toBe(true);
  });

  it('linearizes an op of unknown outcome where a later read saw it', () => {
    const h = history(
      { op: append('x', 'u'), at: [0] },
      { op: append('x', 'k'), at: [1, 2], result: appended('uk') },
      { op: get('x'), at: [3, 4], result: got('uk') },
    );
    expect(checkLinearizability(h).ok).toBe(true);
  });

  it('omits an op of unknown outcome that nobody saw', () => {
    const h = history(
      { op: put('x', 'lost?'), at: [0] },
      { op: get('x'), at: [1, 2], result: got(null) },
      { op: get('x'), at: [3, 4], result: got(null) },
    );
    expect(checkLinearizability(h).ok).toBe(true);
  });

  it('accepts one winner among concurrent compare-and-sets', () => {
    const h = history(
      { op: cas('x', null, 'a'), at: [0, 3], result: { kind: 'cas', succeeded: false, value: 'b' } },
      { op: cas('x', null, 'b'), at: [1, 2], result: { kind: 'cas', succeeded: true, value: 'b' } },
    );
    expect(checkLinearizability(h).ok).toBe(true);
  });
});

describe('linearizability checker: histories that are not', () => {
  it('rejects a stale read (a read after a completed write sees the old value)', () => {
    const h = history(
      { op: put('x', 'a'), at: [0, 1], result: { kind: 'put', value: 'a' } },
      { op: put('x', 'b'), at: [2, 3], result: { kind: 'put', value: 'b' } },
      { op: get('x'), at: [4, 5], result: got('a') },
    );
    const report = checkLinearizability(h);
    expect(report.ok).toBe(false);
    expect(report.violations[0].key).toBe('x');
    expect(report.violations[0].detail).toContain('stuck');
  });

  it('rejects a lost write (an acknowledged append missing from a later read)', () => {
    const h = history(
      { op: append('x', '1'), at: [0, 1], result: appended('1') },
      { op: append('x', '2'), at: [2, 3], result: appended('12') },
      { op: get('x'), at: [4, 5], result: got('1') },
    );
    expect(checkLinearizability(h).ok).toBe(false);
  });

  it('rejects a double append (a retried append applied twice)', () => {
    const h = history(
      { op: append('x', 'a'), at: [0, 3], result: appended('a') },
      { op: get('x'), at: [4, 5], result: got('aa') },
    );
    expect(checkLinearizability(h).ok).toBe(false);
  });

  it('rejects two successful compare-and-sets from the same expected value', () => {
    const h = history(
      { op: cas('x', null, 'a'), at: [0, 1], result: { kind: 'cas', succeeded: true, value: 'a' } },
      { op: cas('x', null, 'b'), at: [2, 3], result: { kind: 'cas', succeeded: true, value: 'b' } },
    );
    expect(checkLinearizability(h).ok).toBe(false);
  });

  it('rejects a read of a value no write produced, even with unknown writes around', () => {
    const h = history({ op: put('x', 'a'), at: [0] }, { op: get('x'), at: [1, 2], result: got('b') });
    expect(checkLinearizability(h).ok).toBe(false);
  });

  it('checks keys independently and names the broken one', () => {
    const h = history(
      { op: put('y', 'a'), at: [0, 1], result: { kind: 'put', value: 'a' } },
      { op: put('x', 'a'), at: [2, 3], result: { kind: 'put', value: 'a' } },
      { op: get('x'), at: [4, 5], result: got('a') },
      { op: get('y'), at: [6, 7], result: got(null) },
    );
    const report = checkLinearizability(h);
    expect(report.violations.map((v) => v.key)).toEqual(['y']);
    expect(report.keys.find((k) => k.key === 'x')?.status).toBe('ok');
  });
});

describe('linearizability checker: bounded search', () => {
  it('reports inconclusive instead of searching past its step budget', () => {
    // Concurrent appends of unknown outcome and an impossible read: proving the violation means
    // trying every order of the appends (7! of them); a tiny budget gives up instead.
    const specs = Array.from({ length: 7 }, (_, i) => ({ op: append('x', String.fromCharCode(97 + i)), at: [i] as [number] }));
    // The read names every append's value (so none can be left out as unseen) in no possible order.
    const h = history(...specs, { op: get('x'), at: [20, 21], result: got('abcdefgz') });
    const bounded = checkLinearizability(h, { maxStepsPerKey: 50 });
    expect(bounded.ok).toBe(true);
    expect(bounded.inconclusive.map((v) => v.key)).toEqual(['x']);
    expect(checkLinearizability(h, { maxStepsPerKey: 5_000_000 }).ok).toBe(false);
  });
});

describe('linearizability checker: unknown outcomes stay cheap', () => {
  it('leaves out unknown writes whose value nobody saw, however many are pending', () => {
    // 30 appends of unknown outcome pending at once: every subset and order would be a state.
    const pending = Array.from({ length: 30 }, (_, i) => ({ op: append('x', `t${i};`), at: [i] as [number] }));
    const h = history(...pending, { op: get('x'), at: [40, 41], result: got('t7;') }, { op: append('x', 'k;'), at: [42, 43], result: appended('t7;k;') });
    const report = checkLinearizability(h, { maxStepsPerKey: 1000 });
    expect(report.inconclusive).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('still finds a violation among unseen unknown writes', () => {
    const pending = Array.from({ length: 30 }, (_, i) => ({ op: append('x', `t${i};`), at: [i] as [number] }));
    // t7 was seen, then lost: a later read no longer has it.
    const h = history(...pending, { op: get('x'), at: [40, 41], result: got('t7;') }, { op: get('x'), at: [42, 43], result: got(null) });
    const report = checkLinearizability(h, { maxStepsPerKey: 1000 });
    expect(report.ok).toBe(false);
  });

  it('keeps an unseen unknown put that a delete may owe "deleted: true" to', () => {
    const h = history({ op: put('x', 'u'), at: [0] }, { op: { kind: 'delete', key: 'x' }, at: [1, 2], result: { kind: 'delete', deleted: true } });
    expect(checkLinearizability(h).ok).toBe(true);
  });
});

describe('exactly-once checker', () => {
  const a1 = writeToken('append', 'c1', 1);
  const a2 = writeToken('append', 'c1', 2);
  const b1 = writeToken('append', 'c2', 1);
  const appends = history(
    { client: 'c1', op: append('log', a1), at: [0, 1], result: appended(a1) },
    { client: 'c1', op: append('log', a2), at: [2, 5], result: appended(a1 + b1 + a2) },
    { client: 'c2', op: append('log', b1), at: [3, 4], result: appended(a1 + b1) },
  ).map((op, i) => ({ ...op, seq: [1, 2, 1][i] }));

  it('accepts every acknowledged append once, in each client order', () => {
    const finalValues = new Map([['log', a1 + b1 + a2]]);
    expect(checkExactlyOnce({ history: appends, finalValues, appendOnlyKeys: ['log'] })).toEqual([]);
  });

  it('catches an append applied twice', () => {
    const finalValues = new Map([['log', a1 + b1 + a2 + a2]]);
    const violations = checkExactlyOnce({ history: appends, finalValues, appendOnlyKeys: ['log'] });
    expect(violations.join('\n')).toContain('applied twice');
  });

  it('catches an acknowledged append that was lost', () => {
    const finalValues = new Map([['log', a1 + a2]]);
    const violations = checkExactlyOnce({ history: appends, finalValues, appendOnlyKeys: ['log'] });
    expect(violations.join('\n')).toContain(`acknowledged ${b1} lost`);
  });

  it("catches a client's appends out of its order", () => {
    const finalValues = new Map([['log', a2 + b1 + a1]]);
    const violations = checkExactlyOnce({ history: appends, finalValues, appendOnlyKeys: ['log'] });
    expect(violations.join('\n')).toContain('precedes');
  });

  it('catches a token nobody sent', () => {
    const finalValues = new Map([['log', a1 + b1 + a2 + writeToken('append', 'c9', 9)]]);
    const violations = checkExactlyOnce({ history: appends, finalValues, appendOnlyKeys: ['log'] });
    expect(violations.join('\n')).toContain('never sent');
  });

  it('allows an append of unknown outcome to be present or absent', () => {
    const withUnknown = history(
      { client: 'c1', op: append('log', a1), at: [0, 1], result: appended(a1) },
      { client: 'c1', op: append('log', a2), at: [2] },
    );
    for (const value of [a1, a1 + a2]) {
      const finalValues = new Map([['log', value]]);
      expect(checkExactlyOnce({ history: withUnknown, finalValues, appendOnlyKeys: ['log'] })).toEqual([]);
    }
  });
});
