/**
 * Byte-level helpers for the KV snapshot stream: a writer that fills fixed-size chunks and
 * keeps a running CRC-32C of what it sealed, and a cursor that reads records across chunk
 * boundaries. Little-endian; str = u32 byte length + UTF-8 bytes. Pure: no I/O.
 */
import { Buffer } from 'node:buffer';
import { crc32c } from '@node-rs/crc32';
import { ByteCursor, STR_PREFIX_BYTES } from './byte-cursor.js';

/** UTF-16 code unit -> at most this many UTF-8 bytes. */
const UTF8_BYTES_PER_UNIT_MAX = 3;

export class ChunkWriter {
  private chunk: Buffer;
  private at = 0;
  private sealed: Uint8Array[] = [];
  private crc = 0;

  /** Chunks are `chunkBytes` long, except one holding a single larger record. */
  constructor(private readonly chunkBytes: number) {
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 64) throw new RangeError(`chunkBytes must be >= 64, got ${chunkBytes}`);
    this.chunk = Buffer.allocUnsafe(chunkBytes);
  }

  /** The chunks completed so far, handed over once each. */
  takeSealed(): Uint8Array[] {
    const out = this.sealed;
    this.sealed = [];
    return out;
  }

  u8(v: number): void {
    this.reserve(1);
    this.chunk[this.at++] = v;
  }

  f64(v: number): void {
    this.reserve(8);
    this.chunk.writeDoubleLE(v, this.at);
    this.at += 8;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.chunk.set(b, this.at);
    this.at += b.length;
  }

  str(s: string): void {
    // Fast path: room for the worst case, so the length is known only after writing.
    if (this.at + STR_PREFIX_BYTES + s.length * UTF8_BYTES_PER_UNIT_MAX > this.chunk.length) {
      this.reserve(STR_PREFIX_BYTES + Buffer.byteLength(s, 'utf8'));
    }
    const n = this.chunk.write(s, this.at + STR_PREFIX_BYTES, 'utf8');
    this.chunk.writeUInt32LE(n, this.at);
    this.at += STR_PREFIX_BYTES + n;
  }

  /** Ends the stream with the CRC-32C of every byte before it; seals the last chunk. */
  finishWithCrc(): void {
    this.reserve(4);
    const crc = crc32c(this.chunk.subarray(0, this.at), this.crc);
    this.chunk.writeUInt32LE(crc, this.at);
    this.at += 4;
    this.sealed.push(this.chunk.subarray(0, this.at));
    this.chunk = Buffer.alloc(0);
    this.at = 0;
  }

  private reserve(n: number): void {
    if (this.at + n <= this.chunk.length) return;
    this.seal();
    if (n > this.chunkBytes) this.chunk = Buffer.allocUnsafe(n);
  }

  private seal(): void {
    if (this.at > 0) {
      const done = this.chunk.subarray(0, this.at);
      this.crc = crc32c(done, this.crc);
      this.sealed.push(done);
    }
    this.chunk = Buffer.allocUnsafe(this.chunkBytes);
    this.at = 0;
  }
}

/** Thrown (as this one value, no stack) when a record runs past the bytes received so far. */
export const NEED_MORE_BYTES: unique symbol = Symbol('need more bytes');

export class ChunkCursor extends ByteCursor {
  /** When NEED_MORE_BYTES was thrown: the buffer length that read would have needed. */
  neededLength = 0;

  protected short(n: number): never {
    this.neededLength = this.at + n;
    throw NEED_MORE_BYTES;
  }
}
