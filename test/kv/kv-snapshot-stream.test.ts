import { describe, expect, it } from '@jest/globals';
import type { KvCommand } from '../../src/kv/commands.js';
import { KvStateMachine } from '../../src/kv/kv-state-machine.js';

const T0 = 1_700_000_000_000;
const CHUNK_BYTES = 4096;

/** `keys` keys (some unicode), one value larger than a chunk, and sessions. */
function populated(keys: number): KvStateMachine {
  const sm = new KvStateMachine({ sessionLimits: { sessionTtlMs: 60_000, sessionsMax: 1000 } });
  for (let i = 0; i < keys; i++) sm.apply(sm.appliedIndex + 1, { op: 'put', key: `key/${(i * 7919) % keys}`, value: `v${i}-${'x'.repeat(i % 90)}`, timeMs: T0 + i });
  sm.apply(sm.appliedIndex + 1, { op: 'put', key: 'key/ключ/🔑', value: 'B'.repeat(3 * CHUNK_BYTES), clientId: 'c1', seq: 1, timeMs: T0 + keys });
  sm.apply(sm.appliedIndex + 1, { op: 'cas', key: 'lock', expected: null, value: 'me', clientId: 'c2', seq: 4, timeMs: T0 + keys });
  return sm;
}

/** Copies each chunk before asking for the next, as a file writer awaiting each write does. */
function drain(chunks: Iterable<Uint8Array>): { bytes: Uint8Array; chunks: number; buffers: Set<ArrayBufferLike> } {
  const copies: Uint8Array[] = [];
  const buffers = new Set<ArrayBufferLike>();
  for (const chunk of chunks) {
    buffers.add(chunk.buffer);
    copies.push(new Uint8Array(chunk)); // a copy (Buffer#slice would be a view)
  }
  return { bytes: Buffer.concat(copies), chunks: copies.length, buffers };
}

function contents(sm: KvStateMachine): unknown {
  return { index: sm.appliedIndex, keys: sm.list('', 1_000_000).items, sessions: sm.sessionCount, time: sm.logTimeMs };
}

describe('KV snapshot stream (reused buffers, slices on demand)', () => {
  it('gives the same bytes as toBytes() from two reused buffers, plus one per record larger than a chunk', () => {
    const sm = populated(5_000);
    const snapshot = sm.snapshot();
    const streamed = drain(snapshot.stream(CHUNK_BYTES));
    expect(Buffer.from(streamed.bytes).equals(Buffer.from(snapshot.toBytes()))).toBe(true);
    expect(streamed.chunks).toBeGreaterThan(50);
    // The fresh-buffer path allocates one buffer per chunk; the stream two, plus one each time the
    // big value is written (as a key's value and in its session's answer).
    expect(drain(snapshot.chunks(CHUNK_BYTES)).buffers.size).toBe(streamed.chunks);
    expect(streamed.buffers.size).toBeLessThanOrEqual(4);
  });

  it('hands out short chunks whenever shouldYield says so; the bytes are unchanged', () => {
    const sm = populated(5_000);
    const snapshot = sm.snapshot();
    let asked = 0;
    const sliced = drain(snapshot.stream(1024 * 1024, () => ++asked % 3 === 0));
    expect(asked).toBeGreaterThan(20);
    // One chunk per yes (roughly asked / 3) instead of the single chunk 1 MiB would need.
    expect(sliced.chunks).toBeGreaterThanOrEqual(Math.floor(asked / 3));
    expect(Buffer.from(sliced.bytes).equals(Buffer.from(snapshot.toBytes()))).toBe(true);
  });

  it('writes between the chunks do not show: the stream is the state at its index (Raft §7)', () => {
    const sm = populated(3_000);
    const reference = new KvStateMachine();
    reference.restore(sm.snapshot().toBytes());
    const snapshot = sm.snapshot();
    const copies: Uint8Array[] = [];
    let n = 0;
    for (const chunk of snapshot.stream(CHUNK_BYTES, () => true)) {
      copies.push(new Uint8Array(chunk));
      // Overwrite, append to, delete and add keys the encoder has not reached yet, and ones it has.
      const key = `key/${(n * 37) % 3_000}`;
      const writes: KvCommand[] = [
        { op: 'put', key, value: 'changed', timeMs: T0 + 10_000 + n },
        { op: 'append', key: `key/${(n * 53) % 3_000}`, value: '+', timeMs: T0 + 10_000 + n },
        { op: 'delete', key: `key/${(n * 71) % 3_000}`, timeMs: T0 + 10_000 + n },
        { op: 'put', key: `new/${n}`, value: 'new', clientId: `w${n}`, seq: 1, timeMs: T0 + 10_000 + n },
      ];
      for (const w of writes) sm.apply(sm.appliedIndex + 1, w);
      n++;
    }
    expect(n).toBeGreaterThan(10);
    const restored = new KvStateMachine();
    restored.restore(copies);
    expect(restored.appliedIndex).toBe(snapshot.index);
    expect(contents(restored)).toEqual(contents(reference));
    expect(contents(sm)).not.toEqual(contents(reference));
  });
});
