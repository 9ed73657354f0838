import { describe, expect, it } from '@jest/globals';
import type { KvCommand } from '../../src/kv/commands.js';
import { SnapshotFormatError } from '../../src/kv/kv-snapshot.js';
import { KvStateMachine } from '../../src/kv/kv-state-machine.js';

const T0 = 1_700_000_000_000;

/** A machine with `keys` keys, unicode and large values, and sessions of every answer kind. */
function populated(keys: number): KvStateMachine {
  const sm = new KvStateMachine({ sessionLimits: { sessionTtlMs: 60_000, sessionsMax: 1000 } });
  let index = 0;
  const apply = (c: KvCommand) => sm.apply(++index, c);
  for (let i = 0; i < keys; i++) apply({ op: 'put', key: `key/${(i * 7919) % keys}`, value: `value-${i}-${'x'.repeat(i % 50)}`, timeMs: T0 + i });
  apply({ op: 'put', key: 'ключ/日本/🔑', value: 'välue 😀', clientId: 'put-client', seq: 3, timeMs: T0 + keys });
  apply({ op: 'append', key: 'big', value: 'B'.repeat(300_000), clientId: 'append-client', seq: 1, timeMs: T0 + keys });
  apply({ op: 'delete', key: 'absent', clientId: 'delete-client', seq: 9, timeMs: T0 + keys });
  apply({ op: 'cas', key: 'absent', expected: 'x', value: 'y', clientId: 'cas-fail', seq: 1, timeMs: T0 + keys });
  apply({ op: 'cas', key: 'lock', expected: null, value: 'me', clientId: 'cas-ok', seq: 1, timeMs: T0 + keys + 1 });
  sm.skip(++index);
  return sm;
}

function contents(sm: KvStateMachine): unknown {
  return { index: sm.appliedIndex, keys: sm.list('', 1_000_000).items, sessions: sm.sessionCount, time: sm.logTimeMs, limits: sm.sessionLimits };
}

describe('KV snapshot', () => {
  it('round-trips 20 000 keys, sessions and the applied index through bytes', () => {
    const sm = populated(20_000);
    const snapshot = sm.snapshot();
    expect(snapshot).toMatchObject({ index: 20_006, keyCount: 20_003, sessionCount: 5 });
    const copy = new KvStateMachine();
    copy.restore(snapshot.toBytes());
    expect(contents(copy)).toEqual(contents(sm));
    expect(copy.keyCount).toBe(20_003);
  });

  it('after restore the session table answers retries exactly as before', () => {
    const sm = populated(100);
    const copy = new KvStateMachine();
    copy.restore(sm.snapshot().toBytes());
    const retries: KvCommand[] = [
      { op: 'put', key: 'ключ/日本/🔑', value: 'välue 😀', clientId: 'put-client', seq: 3, timeMs: T0 + 200 },
      { op: 'append', key: 'big', value: 'B', clientId: 'append-client', seq: 1, timeMs: T0 + 200 },
      { op: 'delete', key: 'absent', clientId: 'delete-client', seq: 9, timeMs: T0 + 200 },
      { op: 'cas', key: 'absent', expected: 'x', value: 'y', clientId: 'cas-fail', seq: 1, timeMs: T0 + 200 },
      { op: 'cas', key: 'lock', expected: null, value: 'me', clientId: 'cas-ok', seq: 1, timeMs: T0 + 200 },
      { op: 'put', key: 'k', value: 'v', clientId: 'put-client', seq: 2, timeMs: T0 + 200 },
      { op: 'put', key: 'k', value: 'v', clientId: 'new-client', seq: 1, timeMs: T0 + 200 },
    ];
    const fromOriginal = retries.map((c) => sm.apply(sm.appliedIndex + 1, c));
    const fromRestored = retries.map((c) => copy.apply(copy.appliedIndex + 1, c));
    expect(fromRestored).toEqual(fromOriginal);
    expect(fromRestored.slice(0, 5).every((r) => r.ok && r.duplicate)).toBe(true);
    expect(fromRestored[5]).toMatchObject({ ok: false, error: 'stale_sequence' });
    expect(contents(copy)).toEqual(contents(sm));
  });

  it('equal states give equal bytes, whatever the order of the writes that built them', () => {
    const a = new KvStateMachine();
    const b = new KvStateMachine();
    const keys = Array.from({ length: 500 }, (_, i) => `k${i}`);
    keys.forEach((k, i) => a.apply(i + 1, { op: 'put', key: k, value: k, timeMs: T0 }));
    [...keys].reverse().forEach((k, i) => b.apply(i + 1, { op: 'put', key: k, value: k, timeMs: T0 }));
    expect(Buffer.from(b.snapshot().toBytes()).equals(Buffer.from(a.snapshot().toBytes()))).toBe(true);
  });

  it('streams in chunks of the asked size; any re-chunking of the stream restores the same state', () => {
    const sm = populated(3000);
    const whole = sm.snapshot().toBytes();
    const chunks = [...sm.snapshot().chunks(4096)];
    expect(chunks.length).toBeGreaterThan(10);
    // Only a record larger than the chunk size gets a chunk of its own: the 300 000-byte value,
    // once in the append-client session's stored answer (the value alone) and once as the key's
    // whole record (u32 + "big" + u32 + value).
    expect(chunks.filter((c) => c.length > 4096).map((c) => c.length)).toEqual([300_004, 300_011]);
    expect(Buffer.concat(chunks).equals(Buffer.from(whole))).toBe(true);
    for (const size of [1, 7, 1000, 65_536]) {
      const pieces: Uint8Array[] = [];
      for (let at = 0; at < whole.length; at += size) pieces.push(whole.subarray(at, at + size));
      const copy = new KvStateMachine();
      if (size === 1) {
        // Byte by byte over the first 20 000 bytes (headers, sessions, the big value), then the rest.
        const restore = copy.beginRestore();
        for (let at = 0; at < 20_000; at++) restore.write(whole.subarray(at, at + 1));
        restore.write(whole.subarray(20_000));
        restore.finish();
      } else {
        copy.restore(pieces);
      }
      expect(contents(copy)).toEqual(contents(sm));
    }
  });

  it('is a frozen point in time: applies after snapshot() do not show in its stream', () => {
    const sm = populated(2000);
    const before = contents(sm);
    const snapshot = sm.snapshot();
    const chunks = snapshot.chunks(8192);
    const firstChunks = [chunks.next().value as Uint8Array, chunks.next().value as Uint8Array];
    // Apply goes on while the snapshot is being streamed.
    for (let i = 0; i < 2000; i++) {
      sm.apply(sm.appliedIndex + 1, i % 2 ? { op: 'delete', key: `key/${i}`, timeMs: T0 } : { op: 'put', key: `key/${i}`, value: 'changed', timeMs: T0 });
    }
    sm.apply(sm.appliedIndex + 1, { op: 'put', key: 'new', value: 'n', clientId: 'late', seq: 1, timeMs: T0 + 99_999 });
    const copy = new KvStateMachine();
    copy.restore([...firstChunks, ...chunks]);
    expect(contents(copy)).toEqual(before);
    expect(copy.appliedIndex).toBe(snapshot.index);
  });

  it('detects a flipped byte anywhere, and a truncated or extended stream; the old state stays', () => {
    const sm = populated(300);
    const bytes = sm.snapshot().toBytes();
    const target = new KvStateMachine();
    target.apply(1, { op: 'put', key: 'keep', value: 'me', timeMs: T0 });
    const attempts: Uint8Array[] = [];
    for (const at of [0, 5, 20, 60, 200, Math.floor(bytes.length / 2), bytes.length - 5, bytes.length - 1]) {
      const bad = Uint8Array.from(bytes);
      bad[at] = (bad[at] as number) ^ 0x10;
      attempts.push(bad);
    }
    attempts.push(bytes.subarray(0, bytes.length - 1), bytes.subarray(0, 30), new Uint8Array(0));
    for (const bad of attempts) {
      expect(() => target.restore(bad)).toThrow(SnapshotFormatError);
    }
    const extended = new Uint8Array(bytes.length + 1);
    extended.set(bytes);
    expect(() => target.restore(extended)).toThrow(/after the end/);
    expect(contents(target)).toEqual({ index: 1, keys: [{ key: 'keep', value: 'me' }], sessions: 0, time: T0, limits: target.sessionLimits });
  });

  it('restore replaces a non-empty state entirely, and an empty machine round-trips', () => {
    const empty = new KvStateMachine();
    const target = populated(50);
    target.restore(empty.snapshot().toBytes());
    expect(contents(target)).toEqual(contents(empty));
    expect(target.keyCount).toBe(0);
    expect(target.appliedIndex).toBe(0);
    target.apply(1, { op: 'put', key: 'a', value: 'b', timeMs: T0 }); // usable after restoring an empty tree
    expect(target.get('a')?.value).toBe('b');
  });

  it('restored keys stay sorted and writable: inserts between restored keys list in order', () => {
    const sm = new KvStateMachine();
    for (let i = 0; i < 1000; i += 2) sm.apply(sm.appliedIndex + 1, { op: 'put', key: `k${String(i).padStart(4, '0')}`, value: '.', timeMs: T0 });
    const copy = new KvStateMachine();
    copy.restore(sm.snapshot().toBytes());
    for (let i = 1; i < 1000; i += 2) copy.apply(copy.appliedIndex + 1, { op: 'put', key: `k${String(i).padStart(4, '0')}`, value: '.', timeMs: T0 });
    const keys = copy.list('k', 2000).items.map((i) => i.key);
    expect(keys).toEqual(Array.from({ length: 1000 }, (_, i) => `k${String(i).padStart(4, '0')}`));
  });
});
