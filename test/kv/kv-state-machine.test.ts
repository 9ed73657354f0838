import { describe, expect, it } from '@jest/globals';
import type { KvApplyResult, KvCommand, KvWriteCommand } from '../../src/kv/commands.js';
import { KvStateMachine } from '../../src/kv/kv-state-machine.js';

const T0 = 1_700_000_000_000;

/** Applies commands at consecutive indexes from appliedIndex + 1; returns the results. */
function applyAll(sm: KvStateMachine, commands: KvCommand[]): KvApplyResult[] {
  return commands.map((c) => sm.apply(sm.appliedIndex + 1, c));
}

const put = (key: string, value: string, extra: Partial<KvWriteCommand> = {}): KvCommand => ({ op: 'put', key, value, timeMs: T0, ...extra }) as KvCommand;

describe('KvStateMachine operations and answers (SPEC 2)', () => {
  it('put answers {key, value, index} and get reads it back at the applied index', () => {
    const sm = new KvStateMachine();
    expect(sm.apply(1, put('a', '1'))).toEqual({ ok: true, answer: { key: 'a', value: '1', index: 1 }, duplicate: false });
    expect(sm.apply(2, put('a', '2'))).toEqual({ ok: true, answer: { key: 'a', value: '2', index: 2 }, duplicate: false });
    expect(sm.get('a')).toEqual({ key: 'a', value: '2', index: 2 });
    expect(sm.get('b')).toBeNull();
    expect(sm.appliedIndex).toBe(2);
    expect(sm.keyCount).toBe(1);
  });

  it('append answers the whole new value, and appending to an absent key creates it', () => {
    const sm = new KvStateMachine();
    const results = applyAll(sm, [
      { op: 'append', key: 'log', value: 'x', timeMs: T0 },
      { op: 'append', key: 'log', value: 'yz', timeMs: T0 },
    ]);
    expect(results.map((r) => r.ok && r.answer)).toEqual([
      { key: 'log', value: 'x', index: 1 },
      { key: 'log', value: 'xyz', index: 2 },
    ]);
    expect(sm.get('log')?.value).toBe('xyz');
  });

  it('delete answers whether the key existed', () => {
    const sm = new KvStateMachine();
    const results = applyAll(sm, [
      { op: 'delete', key: 'k', timeMs: T0 },
      put('k', 'v'),
      { op: 'delete', key: 'k', timeMs: T0 },
      { op: 'delete', key: 'k', timeMs: T0 },
    ]);
    expect(results.map((r) => r.ok && r.answer)).toEqual([
      { key: 'k', deleted: false, index: 1 },
      { key: 'k', value: 'v', index: 2 },
      { key: 'k', deleted: true, index: 3 },
      { key: 'k', deleted: false, index: 4 },
    ]);
    expect(sm.get('k')).toBeNull();
    expect(sm.keyCount).toBe(0);
  });

  it('cas with expected null creates only if absent; cas answers the current value either way', () => {
    const sm = new KvStateMachine();
    const cas = (expected: string | null, value: string): KvCommand => ({ op: 'cas', key: 'lock', expected, value, timeMs: T0 });
    const results = applyAll(sm, [
      cas('held', 'x'), // absent, expected a value: fails, current is null
      cas(null, 'owner-1'), // absent: created
      cas(null, 'owner-2'), // present: fails, current stays owner-1
      cas('owner-2', 'owner-3'), // mismatch
      cas('owner-1', 'owner-3'), // match
      cas('owner-3', ''), // empty string is a value, not absence
      cas(null, 'again'),
    ]);
    expect(results.map((r) => r.ok && r.answer)).toEqual([
      { key: 'lock', succeeded: false, value: null, index: 1 },
      { key: 'lock', succeeded: true, value: 'owner-1', index: 2 },
      { key: 'lock', succeeded: false, value: 'owner-1', index: 3 },
      { key: 'lock', succeeded: false, value: 'owner-1', index: 4 },
      { key: 'lock', succeeded: true, value: 'owner-3', index: 5 },
      { key: 'lock', succeeded: true, value: '', index: 6 },
      { key: 'lock', succeeded: false, value: '', index: 7 },
    ]);
  });

  it('requires increasing indexes; skip() accounts for entries without a command', () => {
    const sm = new KvStateMachine();
    sm.skip(1); // the leader's noop
    expect(sm.apply(2, put('a', '1'))).toMatchObject({ ok: true, answer: { index: 2 } });
    sm.skip(5);
    expect(sm.appliedIndex).toBe(5);
    expect(() => sm.apply(5, put('a', '2'))).toThrow(/out of order/);
    expect(() => sm.apply(3, put('a', '2'))).toThrow(/out of order/);
    expect(() => sm.skip(4)).toThrow(/out of order/);
    expect(sm.get('a')).toEqual({ key: 'a', value: '1', index: 5 });
  });
});

describe('KvStateMachine list', () => {
  const sm = new KvStateMachine();
  // Inserted out of order, with keys around the prefix boundaries.
  for (const key of ['user/2', 'user/10', 'usex', 'user', 'user/1', 'users', 'a', 'user/1/x', 'user0', 'zz']) {
    sm.apply(sm.appliedIndex + 1, put(key, `v:${key}`));
  }

  it('lists keys with a prefix, sorted, and nothing else', () => {
    expect(sm.list('user/', 100)).toEqual({
      items: ['user/1', 'user/1/x', 'user/10', 'user/2'].map((key) => ({ key, value: `v:${key}` })),
      index: 10,
    });
    expect(sm.list('user', 100).items.map((i) => i.key)).toEqual(['user', 'user/1', 'user/1/x', 'user/10', 'user/2', 'user0', 'users']);
  });

  it('honours the limit and an empty prefix lists from the first key', () => {
    expect(sm.list('user/', 2).items.map((i) => i.key)).toEqual(['user/1', 'user/1/x']);
    expect(sm.list('', 3).items.map((i) => i.key)).toEqual(['a', 'user', 'user/1']);
    expect(sm.list('', 0).items).toEqual([]);
    expect(sm.list('nothing', 5).items).toEqual([]);
    expect(sm.list('zzz', 5).items).toEqual([]);
  });

  it('sees writes and deletes between listings', () => {
    const local = new KvStateMachine();
    local.apply(1, put('p/b', '1'));
    expect(local.list('p/', 10).items.map((i) => i.key)).toEqual(['p/b']);
    local.apply(2, put('p/a', '2'));
    local.apply(3, { op: 'delete', key: 'p/b', timeMs: T0 });
    local.apply(4, put('p/c', '3'));
    expect(local.list('p/', 10)).toEqual({ items: [{ key: 'p/a', value: '2' }, { key: 'p/c', value: '3' }], index: 4 });
  });

  it('sorts by code point (UTF-8 byte order), as etcd does', () => {
    const local = new KvStateMachine();
    // U+FF5E (3 UTF-8 bytes, EF BD 9E) sorts before U+1F600 (4 bytes, F0 9F 98 80),
    // although JavaScript's < puts the surrogate pair D83D DE00 first.
    for (const key of ['k😀', 'k～', 'kz', 'k']) local.apply(local.appliedIndex + 1, put(key, '.'));
    expect(local.list('k', 10).items.map((i) => i.key)).toEqual(['k', 'kz', 'k～', 'k😀']);
  });

  it('refuses a negative or fractional limit', () => {
    expect(() => sm.list('', -1)).toThrow(RangeError);
    expect(() => sm.list('', 1.5)).toThrow(RangeError);
  });
});

describe('KvStateMachine exactly-once (SPEC 2)', () => {
  it('a retry gets the first answer back, even after other clients wrote the key', () => {
    const sm = new KvStateMachine();
    const first = sm.apply(1, { op: 'append', key: 'k', value: 'a', clientId: 'c1', seq: 1, timeMs: T0 });
    sm.apply(2, { op: 'put', key: 'k', value: 'other', clientId: 'c2', seq: 1, timeMs: T0 });
    const retry = sm.apply(3, { op: 'append', key: 'k', value: 'a', clientId: 'c1', seq: 1, timeMs: T0 });
    expect(first).toEqual({ ok: true, answer: { key: 'k', value: 'a', index: 1 }, duplicate: false });
    expect(retry).toEqual({ ok: true, answer: { key: 'k', value: 'a', index: 1 }, duplicate: true });
    expect(sm.get('k')?.value).toBe('other'); // not appended twice
    expect(sm.appliedIndex).toBe(3);
  });

  it('a seq below the latest applied one is stale_sequence and changes nothing', () => {
    const sm = new KvStateMachine();
    sm.apply(1, put('k', 'v2', { clientId: 'c', seq: 2 }));
    const stale = sm.apply(2, put('k', 'v1', { clientId: 'c', seq: 1 }));
    expect(stale).toEqual({ ok: false, error: 'stale_sequence', latestSeq: 2, message: expect.stringContaining('seq 1') });
    expect(sm.get('k')).toEqual({ key: 'k', value: 'v2', index: 2 });
  });

  it('writes without clientId/seq are never deduplicated', () => {
    const sm = new KvStateMachine();
    applyAll(sm, [{ op: 'append', key: 'k', value: 'a', timeMs: T0 }, { op: 'append', key: 'k', value: 'a', timeMs: T0 }]);
    expect(sm.get('k')?.value).toBe('aa');
    expect(sm.sessionCount).toBe(0);
  });

  it('every write kind is deduplicated, cas and delete included', () => {
    const sm = new KvStateMachine();
    const cmds: KvCommand[] = [
      { op: 'cas', key: 'k', expected: null, value: 'v', clientId: 'c', seq: 1, timeMs: T0 },
      { op: 'cas', key: 'k', expected: null, value: 'v', clientId: 'c', seq: 1, timeMs: T0 },
      { op: 'delete', key: 'k', clientId: 'c', seq: 2, timeMs: T0 },
      { op: 'delete', key: 'k', clientId: 'c', seq: 2, timeMs: T0 },
    ];
    const answers = applyAll(sm, cmds).map((r) => r.ok && r.answer);
    expect(answers).toEqual([
      { key: 'k', succeeded: true, value: 'v', index: 1 },
      { key: 'k', succeeded: true, value: 'v', index: 1 },
      { key: 'k', deleted: true, index: 3 },
      { key: 'k', deleted: true, index: 3 },
    ]);
  });

  it('sessions expire by the leader-stamped time of entries, never a local clock', () => {
    const sm = new KvStateMachine({ sessionLimits: { sessionTtlMs: 1000, sessionsMax: 10 } });
    sm.apply(1, { op: 'append', key: 'k', value: 'a', clientId: 'c', seq: 1, timeMs: T0 });
    sm.apply(2, { op: 'put', key: 'other', value: '.', timeMs: T0 + 1000 });
    expect(sm.sessionCount).toBe(1);
    expect(sm.apply(3, { op: 'append', key: 'k', value: 'a', clientId: 'c', seq: 1, timeMs: T0 + 1000 })).toMatchObject({ duplicate: true });
    // Idle for more than the TTL of log time: the session is gone and a late retry applies again.
    sm.apply(4, { op: 'put', key: 'other', value: '.', timeMs: T0 + 2001 });
    expect(sm.sessionCount).toBe(0);
    expect(sm.apply(5, { op: 'append', key: 'k', value: 'a', clientId: 'c', seq: 1, timeMs: T0 + 2001 })).toMatchObject({ duplicate: false });
    expect(sm.get('k')?.value).toBe('aa');
  });

  it('a sessions command advances log time and sets the replicated limits', () => {
    const sm = new KvStateMachine({ sessionLimits: { sessionTtlMs: 60_000, sessionsMax: 10 } });
    for (let i = 0; i < 5; i++) sm.apply(i + 1, put(`k${i}`, 'v', { clientId: `c${i}`, seq: 1, timeMs: T0 + i }));
    const result = sm.apply(6, { op: 'sessions', timeMs: T0 + 10, sessionTtlMs: 30_000, sessionsMax: 2 });
    expect(result).toEqual({ ok: true, answer: { index: 6, sessions: 2, expired: 3 }, duplicate: false });
    expect(sm.sessionLimits).toEqual({ sessionTtlMs: 30_000, sessionsMax: 2 });
    expect(sm.logTimeMs).toBe(T0 + 10);
    const expire = sm.apply(7, { op: 'sessions', timeMs: T0 + 30_004, sessionTtlMs: 30_000, sessionsMax: 2 });
    expect(expire).toMatchObject({ answer: { sessions: 1, expired: 1 } }); // c3 seen at T0+3 is idle 30 001
  });
});
