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
 */
import { Buffer } from 'node:buffer';

/** Bytes of each of a record's two length prefixes. */
export const LENGTH_BYTES = 4;

export class RecordPage {
  constructor(
    /** Records in [0, used); the rest is room to grow in place. */
    public buf: Buffer,
    public used: number,
    public count: number,
    /**
     * The owning map's epoch when this page was made writable. A frozen view taken since may
     * hold this very object, so while one is open the map copies it before changing it.
     */
    public epoch: number,
  ) {}

  static empty(epoch: number): RecordPage {
    return new RecordPage(Buffer.allocUnsafeSlow(0), 0, 0, epoch);
  }

  /** A page of its own for `records` (whole records), with `capacity` bytes of room. */
  static copyOf(records: Uint8Array, count: number, capacity: number, epoch: number): RecordPage {
    const buf = Buffer.allocUnsafeSlow(Math.max(capacity, records.length));
    buf.set(records, 0);
    return new RecordPage(buf, records.length, count, epoch);
  }

  /**
   * Where `key` (UTF-8 in key[0, keyLen)) is or would go: the offset of the first record whose
   * key is >= it, and whether that key is equal. Encoded as one number so the hot path allocates
   * nothing: offset if found, else -offset - 1.
   */
  seek(key: Uint8Array, keyLen: number): number {
    const buf = this.buf;
    let at = 0;
    while (at < this.used) {
      const keyStart = at + LENGTH_BYTES;
      const keyEnd = keyStart + readU32(buf, at);
      const order = compareBytes(buf, keyStart, keyEnd, key, 0, keyLen);
      if (order === 0) return at;
      if (order > 0) break;
      at = keyEnd + LENGTH_BYTES + readU32(buf, keyEnd);
    }
    return -at - 1;
  }

  /** The record at `at` spans [at, recordEnd(at)). */
  recordEnd(at: number): number {
    const keyEnd = at + LENGTH_BYTES + readU32(this.buf, at);
    return keyEnd + LENGTH_BYTES + readU32(this.buf, keyEnd);
  }

  keyAt(at: number): string {
    const keyStart = at + LENGTH_BYTES;
    return this.buf.toString('utf8', keyStart, keyStart + readU32(this.buf, at));
  }

  valueAt(at: number): string {
    const keyEnd = at + LENGTH_BYTES + readU32(this.buf, at);
    const valueStart = keyEnd + LENGTH_BYTES;
    return this.buf.toString('utf8', valueStart, valueStart + readU32(this.buf, keyEnd));
  }

  /** Compares the first key of this page with `key`; an empty page sorts first. */
  compareFirstKey(key: Uint8Array, keyLen: number): number {
    if (this.used === 0) return -1;
    return compareBytes(this.buf, LENGTH_BYTES, LENGTH_BYTES + readU32(this.buf, 0), key, 0, keyLen);
  }

  /** The record bytes, as a view: valid only until the page changes. */
  records(): Buffer {
    return this.buf.subarray(0, this.used);
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
