import type { FileHandle } from '../fs/file-system.js';
import { describeFrameStatus, FRAME_HEADER_BYTES, FrameDecoder, FrameStatus } from './record-codec.js';

/** What the visitor of a valid frame answers: keep going, stop here, or a reason the record is bad. */
export const SCAN_CONTINUE = 0;
export const SCAN_STOP = 1;
export type ScanVerdict = typeof SCAN_CONTINUE | typeof SCAN_STOP | string;

/** The visitor gets a buffer and the payload's place in it; `frameOffset` is the file offset. */
export type FrameVisitor = (source: Buffer, payloadStart: number, payloadEnd: number, frameOffset: number) => ScanVerdict;

export interface ScanProblem {
  /** File offset of the frame that failed. */
  readonly offset: number;
  /** Set when the framing itself failed; absent when a checksummed payload was refused. */
  readonly status?: FrameStatus;
  /** Where the failed frame claims to end (file offset), for BadChecksum. */
  readonly frameEnd: number;
  readonly reason: string;
}

export interface ScanResult {
  /** File offset just past the last frame visited. */
  readonly end: number;
  readonly problem: ScanProblem | null;
}

/**
 * Walks the frames of `[start, end)` in a file, reading `chunkBytes` at a time (more when one
 * frame is bigger), and hands each valid one to `visit`. Stops at the first frame that is not
 * valid and says why; the caller decides whether that is a torn tail or damage.
 */
export async function scanFrames(
  handle: FileHandle,
  start: number,
  end: number,
  chunkBytes: number,
  visit: FrameVisitor,
): Promise<ScanResult> {
  const decoder = new FrameDecoder();
  let buffer = Buffer.allocUnsafe(Math.max(64, Math.min(chunkBytes, end - start)));
  let bufferStart = start;
  let bufferBytes = 0;
  let position = start;
  while (position < end) {
    const at = position - bufferStart;
    const status = decoder.decode(buffer, at, bufferBytes);
    if (status === FrameStatus.Incomplete && bufferStart + bufferBytes < end) {
      // Refill from this frame on, big enough for the whole frame when its length is known.
      const wanted = Math.min(end - position, Math.max(chunkBytes, decoder.frameEnd - at));
      if (wanted > buffer.length) buffer = Buffer.allocUnsafe(wanted);
      bufferStart = position;
      bufferBytes = await handle.read(buffer.subarray(0, wanted), position);
      if (bufferBytes < wanted) end = position + bufferBytes;
      continue;
    }
    if (status !== FrameStatus.Ok) {
      return {
        end: position,
        problem: {
          offset: position,
          status,
          frameEnd: bufferStart + decoder.frameEnd,
          reason: describeFrameStatus(status, decoder.length),
        },
      };
    }
    const verdict = visit(buffer, decoder.payloadStart, decoder.payloadEnd, position);
    if (typeof verdict === 'string') {
      return { end: position, problem: { offset: position, frameEnd: bufferStart + decoder.frameEnd, reason: verdict } };
    }
    position = bufferStart + decoder.frameEnd;
    if (verdict === SCAN_STOP) break;
  }
  return { end: position, problem: null };
}

/** True when every byte of `[from, end)` is zero (space the file system extended but never wrote). */
export async function isZeroFilled(handle: FileHandle, from: number, end: number, chunkBytes: number): Promise<boolean> {
  return (await firstNonZeroOffset(handle, from, end, chunkBytes)) === null;
}

/** The file offset of the first non-zero byte in `[from, end)`, or null when it is all zeros (or ends early). */
export async function firstNonZeroOffset(handle: FileHandle, from: number, end: number, chunkBytes: number): Promise<number | null> {
  const buffer = Buffer.allocUnsafe(Math.max(1, Math.min(chunkBytes, end - from)));
  for (let position = from; position < end; ) {
    const bytes = await handle.read(buffer.subarray(0, Math.min(buffer.length, end - position)), position);
    if (bytes === 0) return null;
    for (let i = 0; i < bytes; i++) if (buffer[i] !== 0) return position + i;
    position += bytes;
  }
  return null;
}

/**
 * The file offset of the first valid frame starting anywhere in (from, end), at any byte, or null.
 * `plausible` screens a candidate (header and payload start, all within `available`) before its
 * checksum is computed, which keeps the search cheap. Reads the span in one piece: callers pass
 * at most one record's worth (an incomplete frame at the end of a file).
 */
export async function findValidFrameAfter(
  handle: FileHandle,
  from: number,
  end: number,
  plausible: (source: Buffer, frameStart: number, available: number) => boolean,
): Promise<number | null> {
  if (end - from <= FRAME_HEADER_BYTES) return null;
  const span = Buffer.allocUnsafe(end - from);
  const available = await handle.read(span, from);
  const decoder = new FrameDecoder();
  for (let at = 1; at + FRAME_HEADER_BYTES < available; at++) {
    if (plausible(span, at, available) && decoder.decode(span, at, available) === FrameStatus.Ok) return from + at;
  }
  return null;
}
