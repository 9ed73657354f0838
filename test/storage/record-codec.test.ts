import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { crc32c } from '@node-rs/crc32';
import { crc32cOf, crc32cSmall } from '../../src/storage/wal/crc32c.js';
import {
  decodeEntry,
  encodeFrame,
  entryFrameBytes,
  entryPayloadProblem,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  FrameStatus,
  RECORD_PAYLOAD_BYTES_MAX,
  readU64,
  truncateFromIndexOf,
  TRUNCATE_FRAME_BYTES,
  writeEntryFrame,
  writeTruncateFrame,
  writeU64,
} from '../../src/storage/wal/record-codec.js';
import type { Entry } from '../../src/consensus/core/messages.js';

const entryArb = fc.record({
  index: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  term: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  type: fc.constantFrom<'command' | 'noop'>('command', 'noop'),
  data: fc.uint8Array({ maxLength: 300 }),
});

function frameOf(entry: Entry): Buffer {
  const buffer = Buffer.alloc(entryFrameBytes(entry));
  expect(writeEntryFrame(buffer, 0, entry)).toBe(buffer.length);
  return buffer;
}

describe('record codec', () => {
  it('computes the same CRC32C as the native library on both of its paths', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.nat(16), fc.nat(16), (bytes, head, tail) => {
        const start = Math.min(head, bytes.length);
        const end = Math.max(start, bytes.length - tail);
        const expected = crc32c(bytes.subarray(start, end));
        expect(crc32cSmall(bytes, start, end)).toBe(expected);
        expect(crc32cOf(bytes, start, end)).toBe(expected);
      }),
    );
    // The standard check value of CRC-32C.
    expect(crc32cSmall(Buffer.from('123456789'), 0, 9)).toBe(0xe3069283);
  });

  it('round-trips any entry through a frame', () => {
    fc.assert(
      fc.property(entryArb, (entry) => {
        const frame = frameOf(entry);
        const decoder = new FrameDecoder();
        expect(decoder.decode(frame, 0, frame.length)).toBe(FrameStatus.Ok);
        expect(decoder.frameEnd).toBe(frame.length);
        expect(entryPayloadProblem(frame, decoder.payloadStart, decoder.payloadEnd)).toBeNull();
        const decoded = decodeEntry(frame, decoder.payloadStart, decoder.payloadEnd);
        expect(decoded).toEqual({ ...entry, data: new Uint8Array(entry.data) });
      }),
    );
  });

  it('round-trips u64 values up to MAX_SAFE_INTEGER and refuses larger ones', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (value) => {
        const buffer = Buffer.alloc(8);
        writeU64(buffer, 0, value);
        expect(readU64(buffer, 0)).toBe(value);
      }),
    );
    expect(() => writeU64(Buffer.alloc(8), 0, 2 ** 53)).toThrow(RangeError);
    expect(readU64(Buffer.from([0, 0, 0, 0, 0, 0, 0x20, 0]), 0)).toBe(-1);
  });

  it('frames a truncation record', () => {
    const buffer = Buffer.alloc(TRUNCATE_FRAME_BYTES);
    writeTruncateFrame(buffer, 0, 123_456_789_012);
    const decoder = new FrameDecoder();
    expect(decoder.decode(buffer, 0, buffer.length)).toBe(FrameStatus.Ok);
    expect(truncateFromIndexOf(buffer, decoder.payloadStart)).toBe(123_456_789_012);
  });

  it('reports every prefix of a frame as incomplete', () => {
    const frame = frameOf({ index: 7, term: 3, type: 'command', data: Buffer.from('hello world') });
    const decoder = new FrameDecoder();
    for (let cut = 0; cut < frame.length; cut++) {
      expect(decoder.decode(frame, 0, cut)).toBe(FrameStatus.Incomplete);
    }
  });

  it('catches any single flipped bit in the payload', () => {
    const frame = frameOf({ index: 7, term: 3, type: 'command', data: Buffer.from('some payload bytes') });
    const decoder = new FrameDecoder();
    for (let byte = FRAME_HEADER_BYTES; byte < frame.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = Buffer.from(frame);
        damaged[byte] ^= 1 << bit;
        expect(decoder.decode(damaged, 0, damaged.length)).toBe(FrameStatus.BadChecksum);
      }
    }
  });

  it('treats a zero length as unwritten space and a huge one as damage', () => {
    const decoder = new FrameDecoder();
    expect(decoder.decode(Buffer.alloc(64), 0, 64)).toBe(FrameStatus.Zero);
    const huge = Buffer.alloc(64);
    huge.writeUInt32LE(RECORD_PAYLOAD_BYTES_MAX + 1, 0);
    expect(decoder.decode(huge, 0, 64)).toBe(FrameStatus.TooLarge);
  });

  it('frames a standalone payload and refuses empty or oversized ones', () => {
    const frame = encodeFrame(Buffer.from([16, 1, 2, 3]));
    const decoder = new FrameDecoder();
    expect(decoder.decode(frame, 0, frame.length)).toBe(FrameStatus.Ok);
    expect([...frame.subarray(decoder.payloadStart, decoder.payloadEnd)]).toEqual([16, 1, 2, 3]);
    expect(() => encodeFrame(new Uint8Array(0))).toThrow(RangeError);
  });

  it('refuses a checksummed payload with an unknown entry type', () => {
    const frame = frameOf({ index: 1, term: 1, type: 'noop', data: new Uint8Array(0) });
    frame[FRAME_HEADER_BYTES + 1] = 9;
    // Re-seal so only the content check can catch it.
    const payload = frame.subarray(FRAME_HEADER_BYTES);
    const resealed = encodeFrame(payload);
    const decoder = new FrameDecoder();
    expect(decoder.decode(resealed, 0, resealed.length)).toBe(FrameStatus.Ok);
    expect(entryPayloadProblem(resealed, decoder.payloadStart, decoder.payloadEnd)).toMatch(/unknown entry type 9/);
  });
});
