import { Buffer } from 'node:buffer';

/** Bytes of the length that prefixes a UTF-8 string: str = u32 byte length + UTF-8 bytes. */
export const STR_PREFIX_BYTES = 4;

/**
 * A little-endian reader over one buffer. What a read past the end means differs by format
 * (a truncated command is an error, a snapshot record split across chunks needs more bytes),
 * so subclasses say it in `short`.
 */
export abstract class ByteCursor {
  at = 0;

  constructor(readonly buf: Buffer) {}

  /** Called when a read of `n` bytes at `at` would run past the end; must throw. */
  protected abstract short(n: number): never;

  protected need(n: number): void {
    if (this.at + n > this.buf.length) this.short(n);
  }

  remaining(): number {
    return this.buf.length - this.at;
  }

  u8(): number {
    this.need(1);
    return this.buf[this.at++] as number;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.at);
    this.at += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.at);
    this.at += 8;
    return v;
  }

  /** A u32-length-prefixed UTF-8 string; toString copies, so the string does not pin the buffer. */
  str(): string {
    this.need(STR_PREFIX_BYTES);
    const n = this.buf.readUInt32LE(this.at);
    this.need(STR_PREFIX_BYTES + n);
    const s = this.buf.toString('utf8', this.at + STR_PREFIX_BYTES, this.at + STR_PREFIX_BYTES + n);
    this.at += STR_PREFIX_BYTES + n;
    return s;
  }

  /** A view of the next `n` bytes, not a copy. */
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }
}
