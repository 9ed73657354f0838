import type { Entry } from '../../consensus/core/messages.js';
import { crc32cOf } from './crc32c.js';

/**
 * On-disk record framing (SPEC 5): `length u32 | crc32c u32 | payload`, little-endian.
 *  - `length` counts payload bytes only; `crc32c` covers the payload.
 *  - The payload starts with a type byte (RecordType).
 *  - A zero length marks unwritten space: a file may end in zeros after a crash when the file
 *    system extended the size but the data never reached the disk.
 *  - No record is ever larger than RECORD_PAYLOAD_BYTES_MAX, so a corrupt length is caught
 *    before it makes us read or trust a huge span.
 */

export const FRAME_HEADER_BYTES = 8;
export const RECORD_PAYLOAD_BYTES_MAX = 16 * 1024 * 1024;

export const RecordType = {
  /** A log entry: entryType u8 | index u64 | term u64 | data. */
  Entry: 1,
  /** Entries with index >= fromIndex written earlier are void: fromIndex u64. */
  Truncate: 2,
  /** The `state` file's single record (hard-state-store.ts). */
  HardState: 16,
} as const;

const ENTRY_TYPE_CODE = { command: 1, noop: 2 } as const;
/** type u8 | entryType u8 | index u64 | term u64 */
export const ENTRY_PAYLOAD_HEADER_BYTES = 18;
export const TRUNCATE_PAYLOAD_BYTES = 9;
/** The largest Entry.data a record can carry. */
export const ENTRY_DATA_BYTES_MAX = RECORD_PAYLOAD_BYTES_MAX - ENTRY_PAYLOAD_HEADER_BYTES;

const TWO_POW_32 = 0x1_0000_0000;

export function writeU64(target: Buffer, at: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a u64 we can store exactly: ${value}`);
  target.writeUInt32LE(value % TWO_POW_32, at);
  target.writeUInt32LE(Math.floor(value / TWO_POW_32), at + 4);
}

/** Returns -1 when the value is beyond Number.MAX_SAFE_INTEGER (never written by us: damage). */
export function readU64(source: Buffer, at: number): number {
  const high = source.readUInt32LE(at + 4);
  if (high >= 0x20_0000) return -1;
  return high * TWO_POW_32 + source.readUInt32LE(at);
}

export function entryFrameBytes(entry: Entry): number {
  return FRAME_HEADER_BYTES + ENTRY_PAYLOAD_HEADER_BYTES + entry.data.length;
}

export const TRUNCATE_FRAME_BYTES = FRAME_HEADER_BYTES + TRUNCATE_PAYLOAD_BYTES;

/** Fills the header of the frame at `at` whose payload of `payloadBytes` is already in place. */
export function sealFrame(target: Buffer, at: number, payloadBytes: number): void {
  const payloadStart = at + FRAME_HEADER_BYTES;
  target.writeUInt32LE(payloadBytes, at);
  target.writeUInt32LE(crc32cOf(target, payloadStart, payloadStart + payloadBytes), at + 4);
}

/** Writes one entry frame at `at`; returns the offset just past it. */
export function writeEntryFrame(target: Buffer, at: number, entry: Entry): number {
  const payload = at + FRAME_HEADER_BYTES;
  target[payload] = RecordType.Entry;
  target[payload + 1] = ENTRY_TYPE_CODE[entry.type];
  writeU64(target, payload + 2, entry.index);
  writeU64(target, payload + 10, entry.term);
  target.set(entry.data, payload + ENTRY_PAYLOAD_HEADER_BYTES);
  const payloadBytes = ENTRY_PAYLOAD_HEADER_BYTES + entry.data.length;
  sealFrame(target, at, payloadBytes);
  return payload + payloadBytes;
}

export function writeTruncateFrame(target: Buffer, at: number, fromIndex: number): number {
  const payload = at + FRAME_HEADER_BYTES;
  target[payload] = RecordType.Truncate;
  writeU64(target, payload + 1, fromIndex);
  sealFrame(target, at, TRUNCATE_PAYLOAD_BYTES);
  return payload + TRUNCATE_PAYLOAD_BYTES;
}

/** Frames one payload on its own (for small files such as `state`). */
export function encodeFrame(payload: Uint8Array): Buffer {
  if (payload.length === 0 || payload.length > RECORD_PAYLOAD_BYTES_MAX) {
    throw new RangeError(`record payload of ${payload.length} bytes is outside 1..${RECORD_PAYLOAD_BYTES_MAX}`);
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.set(payload, FRAME_HEADER_BYTES);
  sealFrame(frame, 0, payload.length);
  return frame;
}

export const FrameStatus = {
  /** A whole frame with a matching checksum. */
  Ok: 0,
  /** The header or the payload runs past the bytes available. */
  Incomplete: 1,
  /** Length 0: unwritten space. */
  Zero: 2,
  /** Length above RECORD_PAYLOAD_BYTES_MAX: the length field is damaged. */
  TooLarge: 3,
  /** The payload does not match its checksum. */
  BadChecksum: 4,
} as const;
export type FrameStatus = (typeof FrameStatus)[keyof typeof FrameStatus];

/**
 * Decodes frames in place, without allocating per frame (recovery walks millions of them).
 * After `decode`, `payloadStart`/`payloadEnd` locate the payload when the status is Ok, and
 * `frameEnd` is where the frame claims to end (for Incomplete and BadChecksum).
 */
export class FrameDecoder {
  payloadStart = 0;
  payloadEnd = 0;
  frameEnd = 0;
  length = 0;

  decode(source: Buffer, at: number, end: number): FrameStatus {
    if (end - at < FRAME_HEADER_BYTES) {
      this.frameEnd = at + FRAME_HEADER_BYTES;
      return FrameStatus.Incomplete;
    }
    const length = source.readUInt32LE(at);
    this.length = length;
    if (length === 0) return FrameStatus.Zero;
    if (length > RECORD_PAYLOAD_BYTES_MAX) return FrameStatus.TooLarge;
    this.payloadStart = at + FRAME_HEADER_BYTES;
    this.payloadEnd = this.payloadStart + length;
    this.frameEnd = this.payloadEnd;
    if (this.payloadEnd > end) return FrameStatus.Incomplete;
    const expected = source.readUInt32LE(at + 4);
    if (crc32cOf(source, this.payloadStart, this.payloadEnd) !== expected) return FrameStatus.BadChecksum;
    return FrameStatus.Ok;
  }
}

export function describeFrameStatus(status: FrameStatus, length: number): string {
  switch (status) {
    case FrameStatus.Ok:
      return 'valid record';
    case FrameStatus.Incomplete:
      return 'incomplete record';
    case FrameStatus.Zero:
      return 'zero length (unwritten space)';
    case FrameStatus.TooLarge:
      return `record length ${length} exceeds the maximum ${RECORD_PAYLOAD_BYTES_MAX}`;
    case FrameStatus.BadChecksum:
      return 'checksum mismatch';
  }
}

export function recordTypeOf(source: Buffer, payloadStart: number): number {
  return source[payloadStart];
}

/** The index of an entry record without decoding the rest (recovery needs only index and term). */
export function entryIndexOf(source: Buffer, payloadStart: number): number {
  return readU64(source, payloadStart + 2);
}

export function entryTermOf(source: Buffer, payloadStart: number): number {
  return readU64(source, payloadStart + 10);
}

export function truncateFromIndexOf(source: Buffer, payloadStart: number): number {
  return readU64(source, payloadStart + 1);
}

/**
 * Checks what a valid checksum cannot vouch for (a record from a newer format, say): returns a
 * reason when the payload is not a well-formed entry. Index and term are checked by the caller.
 */
export function entryPayloadProblem(source: Buffer, payloadStart: number, payloadEnd: number): string | null {
  if (payloadEnd - payloadStart < ENTRY_PAYLOAD_HEADER_BYTES) return 'entry record too short';
  const typeCode = source[payloadStart + 1];
  if (typeCode !== ENTRY_TYPE_CODE.command && typeCode !== ENTRY_TYPE_CODE.noop) {
    return `unknown entry type ${typeCode}`;
  }
  return null;
}

/** Decodes an entry payload; the data is copied so the source buffer can be reused or dropped. */
export function decodeEntry(source: Buffer, payloadStart: number, payloadEnd: number): Entry {
  const typeCode = source[payloadStart + 1];
  return {
    index: entryIndexOf(source, payloadStart),
    term: entryTermOf(source, payloadStart),
    type: typeCode === ENTRY_TYPE_CODE.noop ? 'noop' : 'command',
    data: Uint8Array.prototype.slice.call(source, payloadStart + ENTRY_PAYLOAD_HEADER_BYTES, payloadEnd),
  };
}
