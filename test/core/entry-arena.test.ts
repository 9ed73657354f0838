import { describe, expect, it } from '@jest/globals';
import { EntryArena } from '../../src/consensus/core/entry-arena.js';
import type { Entry } from '../../src/consensus/core/messages.js';
import { RaftLog } from '../../src/consensus/core/raft-log.js';

const SNAP = { index: 0, term: 0, config: { voters: ['a', 'b', 'c'] } };

/** Entries whose data are views into one large body, as decoded from an AppendEntries message. */
function viewsIntoOneBody(first: number, count: number, bodyBytes: number): { entries: Entry[]; body: ArrayBufferLike } {
  const body = new Uint8Array(bodyBytes);
  const entries: Entry[] = [];
  for (let k = 0; k < count; k++) {
    const at = 100 + k * 150;
    body.fill((first + k) % 251, at, at + 120);
    entries.push({ index: first + k, term: 1, type: 'command', data: body.subarray(at, at + 120) });
  }
  return { entries, body: body.buffer };
}

describe('EntryArena: retained entries do not pin the buffers they arrived in', () => {
  it('packs views into shared slabs with equal fields and bytes; owning and empty data pass as they are', () => {
    const arena = new EntryArena(4096);
    const { entries, body } = viewsIntoOneBody(1, 100, 64 * 1024);
    const packed = entries.map((e) => arena.pack(e));
    expect(packed).toEqual(entries);
    expect(packed.every((e) => e.data.buffer !== body)).toBe(true);
    // 100 x 120 bytes in 4 KiB slabs: 34 per slab, so 3 slabs.
    expect(new Set(packed.map((e) => e.data.buffer)).size).toBe(3);
    const owning: Entry = { index: 101, term: 1, type: 'command', data: new Uint8Array([1, 2, 3]) };
    const noop: Entry = { index: 102, term: 1, type: 'noop', data: new Uint8Array(0) };
    expect(arena.pack(owning)).toBe(owning);
    expect(arena.pack(noop)).toBe(noop);
  });

  it('gives a large entry a buffer of its own', () => {
    const arena = new EntryArena(4096);
    const big = Buffer.alloc(10_000, 7); // a Buffer: its slice() is a view, the arena must still copy
    const entry: Entry = { index: 1, term: 1, type: 'command', data: big.subarray(1, 9_000) };
    const packed = arena.pack(entry);
    expect(packed).toEqual(entry);
    expect(packed.data.buffer.byteLength).toBe(8_999);
  });

  it('RaftLog keeps packed copies, on append and on restore, and hands them out unchanged', () => {
    const { entries, body } = viewsIntoOneBody(1, 50, 32 * 1024);
    const log = new RaftLog(SNAP, [], 0, 0);
    log.append(entries);
    const kept = log.slice(1, 51);
    expect(kept).toEqual(entries);
    expect(kept.some((e) => e.data.buffer === body)).toBe(false);
    const restored = new RaftLog(SNAP, entries, 0, 0);
    expect(restored.slice(1, 51).some((e) => e.data.buffer === body)).toBe(false);
    expect(restored.unstableEntries()).toEqual([]);
    expect(log.unstableEntries()).toEqual(entries);
  });
});
