/**
 * One page of the KV state: a run of records in ascending key order, packed from byte 0 of one
 * Buffer. The bytes live outside the V8 heap, so a million keys cost the GC a few thousand page
 * objects to trace instead of two million strings, and cost memory little more than their bytes.
 *
 * Record layout (little-endian), exactly the key section of a KV snapshot (kv-snapshot.ts), so a
 * page is written to a snapshot as it is:
 *   u32 keyBytes | key UTF-8 | u32 valueBytes | value UTF-8
 *
 * Keys compare as UTF-8 bytes, which is code point order: the order of compareKeys (key-order.ts).
 * A page is searched by walking its records: a page holds a few dozen, and a walk needs no
 * offset table to keep up to date on every insert.
 *
 * The map finds a page by binary search on first keys. Each page keeps its first key as a string
 * of one char per UTF-8 byte (latin1), so a step of that search compares two strings on the V8
 * heap instead of reaching through the page's Buffer into its slab: at a million keys the pages'
 * bytes are mostly out of the CPU's cache, and those reads made up most of a lookup's time.
 */
import type { Buffer } from 'node:buffer';
import type { Utf8WritableBuffer } from '../snapshot-bytes.js';

/** Bytes of each of a record's two length prefixes. */
export const LENGTH_BYTES = 4;

export class RecordPage {
  constructor(
    /** The page's bytes are buf[base, base + capacity): a slab slot, or a buffer of its own. */
    public buf: Buffer,
    public base: number,
    public capacity: number,
    /** The slab slot (page-slabs.ts), or -1 for a buffer of its own (a large record). */
    public slot: number,
    /** Records in [0, used) of the page; the rest is room to grow in place. */
    public used: number,
    public count: number,
    /**
     * The owning map's epoch when this page was made writable. A frozen view taken since may
     * hold this very object, so while one is open the map copies it before changing it.
     */
    public epoch: number,
  ) {}

  /** The first key's UTF-8 bytes as latin1 ('' when empty); null until asked, or since it changed. */
  private firstKeyLatin1: string | null = null;

  /**
   * Where `key` (UTF-8 in key[0, keyLen)) is or would go: the offset of the first record whose
   * key is >= it, and whether that key is equal. Encoded as one number so the hot path allocates
   * nothing: offset if found, else -offset - 1.
   */
  seek(key: Uint8Array, keyLen: number): number {
    const buf = this.buf;
    const base = this.base;
    let at = 0;
    while (at < this.used) {
      const keyStart = base + at + LENGTH_BYTES;
      const keyEnd = keyStart + readU32(buf, base + at);
      const order = compareBytes(buf, keyStart, keyEnd, key, 0, keyLen);
      if (order === 0) return at;
      if (order > 0) break;
      at = keyEnd + LENGTH_BYTES + readU32(buf, keyEnd) - base;
    }
    return -at - 1;
  }

  /** The record at `at` spans [at, recordEnd(at)). */
  recordEnd(at: number): number {
    const keyEnd = at + LENGTH_BYTES + readU32(this.buf, this.base + at);
    return keyEnd + LENGTH_BYTES + readU32(this.buf, this.base + keyEnd);
  }

  keyAt(at: number): string {
    const keyStart = this.base + at + LENGTH_BYTES;
    return this.buf.toString('utf8', keyStart, keyStart + readU32(this.buf, this.base + at));
  }

  valueAt(at: number): string {
    const keyEnd = this.base + at + LENGTH_BYTES + readU32(this.buf, this.base + at);
    const valueStart = keyEnd + LENGTH_BYTES;
    return this.buf.toString('utf8', valueStart, valueStart + readU32(this.buf, keyEnd));
  }

  /**
   * The first key's UTF-8 bytes, one char per byte: `<` on two such strings is byte order, the
   * order of the keys. An empty page gives '', which sorts before every key (keys are non-empty).
   */
  firstKeyBytes(): string {
    let first = this.firstKeyLatin1;
    if (first === null) {
      const keyStart = this.base + LENGTH_BYTES;
      first = this.used === 0 ? '' : this.buf.toString('latin1', keyStart, keyStart + readU32(this.buf, this.base));
      this.firstKeyLatin1 = first;
    }
    return first;
  }

  /** The page's bytes moved to another place, as they are or with a gap opened or closed. */
  moveTo(buf: Buffer, base: number, capacity: number, slot: number, used: number): void {
    this.buf = buf;
    this.base = base;
    this.capacity = capacity;
    this.slot = slot;
    this.used = used;
    this.firstKeyLatin1 = null;
  }

  /** Bytes [from, to) of the page, as a view: valid only until the page or its slot changes. */
  bytes(from = 0, to = this.used): Buffer {
    return this.buf.subarray(this.base + from, this.base + to);
  }

  /** Moves the bytes from `at` to the end by `delta`; the caller checked the room. */
  shift(at: number, delta: number): void {
    // Closing a gap overwrites the bytes just before `at`.
    this.changing(delta < 0 ? at + delta : at);
    if (delta !== 0) this.buf.copyWithin(this.base + at + delta, this.base + at, this.base + this.used);
    this.used += delta;
  }

  writeU32(at: number, v: number): void {
    this.changing(at);
    writeU32(this.buf, this.base + at, v);
  }

  /** Writes bytes[from, to) at `at`; the caller checked the room. */
  write(at: number, bytes: Buffer, from: number, to: number): void {
    this.changing(at);
    bytes.copy(this.buf, this.base + at, from, to);
  }

  /** Writes `s` as UTF-8 at `at`; the caller checked the room. */
  writeUtf8(at: number, s: string): void {
    this.changing(at);
    (this.buf as Utf8WritableBuffer).utf8Write(s, this.base + at);
  }

  /** Bytes from `at` on are about to change: forget the first key if they may include it. */
  private changing(at: number): void {
    if (this.firstKeyLatin1 === null) return;
    if (this.used === 0 || at < LENGTH_BYTES + readU32(this.buf, this.base)) this.firstKeyLatin1 = null;
  }
}

export function readU32(buf: Uint8Array, at: number): number {
  return ((buf[at] as number) | ((buf[at + 1] as number) << 8) | ((buf[at + 2] as number) << 16) | ((buf[at + 3] as number) << 24)) >>> 0;
}

export function writeU32(buf: Uint8Array, at: number, v: number): void {
  buf[at] = v & 0xff;
  buf[at + 1] = (v >>> 8) & 0xff;
  buf[at + 2] = (v >>> 16) & 0xff;
  buf[at + 3] = (v >>> 24) & 0xff;
}

/** Byte order of a[aStart, aEnd) against b[bStart, bEnd): negative, zero or positive. */
export function compareBytes(a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): number {
  const aLen = aEnd - aStart;
  const bLen = bEnd - bStart;
  const n = aLen < bLen ? aLen : bLen;
  for (let i = 0; i < n; i++) {
    const d = (a[aStart + i] as number) - (b[bStart + i] as number);
    if (d !== 0) return d;
  }
  return aLen - bLen;
}
