/**
 * The KV state machine's snapshot stream: applied index, the session table and every key in
 * key order, in chunks, ending with a CRC-32C. Equal states give equal bytes on every replica.
 * The storage layer frames the file and adds membership; this stream is self-checking so a
 * snapshot assembled from InstallSnapshot chunks is verified before it replaces any state.
 *
 * Layout (little-endian; str = u32 byte length + UTF-8 bytes):
 *   "RKVS" | u8 version (1) | 3 zero bytes
 *   f64 appliedIndex | f64 logTimeMs | f64 sessionTtlMs | f64 sessionsMax | f64 sessionCount | f64 keyCount
 *   sessionCount x (str clientId | f64 lastSeq | f64 lastSeenMs | answer), least recently used first
 *     answer = u8 1 (put/append) | str key | str value | f64 index
 *            | u8 2 (delete)     | str key | u8 deleted | f64 index
 *            | u8 3 (cas)        | str key | u8 succeeded | u8 hasValue | [str value] | f64 index
 *   keyCount x (str key | str value), keys strictly ascending by compareKeys
 *   "RKVE" | u32 crc32c of every byte before it
 */
import { Buffer } from 'node:buffer';
import { crc32c } from '@node-rs/crc32';
import type { SessionRecord, SessionTableState } from '../sessions/session-table.js';
import type { KvWriteAnswer } from './commands.js';
import { PagedSortedMap, PagedSortedMapBuilder, type RecordRun } from './record-pages/paged-sorted-map.js';
import { compareBytes } from './record-pages/record-page.js';
import { ChunkCursor, ChunkWriter, NEED_MORE_BYTES } from './snapshot-bytes.js';

export const KV_SNAPSHOT_VERSION = 1;
export const SNAPSHOT_CHUNK_BYTES_DEFAULT = 1024 * 1024;

const HEAD_MAGIC = Buffer.from('RKVS', 'latin1');
const TAIL_MAGIC = Buffer.from('RKVE', 'latin1');
const ANSWER_PUT = 1;
const ANSWER_DELETE = 2;
const ANSWER_CAS = 3;

export class SnapshotFormatError extends Error {
  override readonly name = 'SnapshotFormatError';
}

/** A consistent, frozen view of the state machine to encode. */
export interface KvSnapshotView {
  readonly appliedIndex: number;
  readonly sessions: SessionTableState<KvWriteAnswer>;
  readonly keyCount: number;
  /**
   * Every key/value in ascending key order, as runs of records already in this stream's layout
   * (str key | str value): the state's pages, copied as they are. Must not change while encoded.
   */
  records(): Iterable<RecordRun>;
}

export interface EncodeKvSnapshotOptions {
  /** See ChunkWriterOptions.reuseBuffers: each chunk is valid only until the next one is asked for. */
  readonly reuseBuffers?: boolean;
  /**
   * Asked after each run of records (a page, a few dozen keys); true hands out what is encoded so far as a short chunk, so a
   * caller that awaits between chunks bounds how long one step blocks (the encoder has no clock).
   */
  readonly shouldYield?: () => boolean;
}

export function* encodeKvSnapshot(
  view: KvSnapshotView,
  chunkBytes = SNAPSHOT_CHUNK_BYTES_DEFAULT,
  options: EncodeKvSnapshotOptions = {},
): Generator<Uint8Array> {
  const w = new ChunkWriter(chunkBytes, { reuseBuffers: options.reuseBuffers ?? false });
  const shouldYield = options.shouldYield;
  w.bytes(HEAD_MAGIC);
  w.u8(KV_SNAPSHOT_VERSION);
  w.u8(0);
  w.u8(0);
  w.u8(0);
  w.f64(view.appliedIndex);
  w.f64(view.sessions.logTimeMs);
  w.f64(view.sessions.limits.sessionTtlMs);
  w.f64(view.sessions.limits.sessionsMax);
  w.f64(view.sessions.records.length);
  w.f64(view.keyCount);
  for (const record of view.sessions.records) {
    w.str(record.clientId);
    w.f64(record.lastSeq);
    w.f64(record.lastSeenMs);
    writeAnswer(w, record.answer);
    yield* w.takeSealed();
  }
  let written = 0;
  for (const run of view.records()) {
    w.bytes(run.bytes);
    written += run.count;
    if (shouldYield !== undefined && shouldYield()) w.flush();
    yield* w.takeSealed();
  }
  // Invariant: the view did not change under the encoder.
  if (written !== view.keyCount) throw new Error(`snapshot view yielded ${written} keys, announced ${view.keyCount}`);
  w.bytes(TAIL_MAGIC);
  w.finishWithCrc();
  yield* w.takeSealed();
}

function writeAnswer(w: ChunkWriter, answer: KvWriteAnswer): void {
  if ('deleted' in answer) {
    w.u8(ANSWER_DELETE);
    w.str(answer.key);
    w.u8(answer.deleted ? 1 : 0);
  } else if ('succeeded' in answer) {
    w.u8(ANSWER_CAS);
    w.str(answer.key);
    w.u8(answer.succeeded ? 1 : 0);
    w.u8(answer.value === null ? 0 : 1);
    if (answer.value !== null) w.str(answer.value);
  } else {
    w.u8(ANSWER_PUT);
    w.str(answer.key);
    w.str(answer.value);
  }
  w.f64(answer.index);
}

/** A decoded snapshot: the keys already in the state machine's own form. */
export interface DecodedKvSnapshot {
  readonly appliedIndex: number;
  readonly sessions: SessionTableState<KvWriteAnswer>;
  readonly state: PagedSortedMap;
}

type Phase = 'header' | 'sessions' | 'keys' | 'tail' | 'done';

/**
 * Decodes a snapshot stream fed in chunks of any size. Nothing is applied here: the caller
 * swaps its state only after `finish()` returned, so a bad stream leaves the old state intact.
 */
export class KvSnapshotDecoder {
  private phase: Phase = 'header';
  private pendingParts: Buffer[] = [];
  private pendingLength = 0;
  /** Bytes the next item needs, counted from the first pending byte; 0 if unknown. */
  private neededLength = 0;
  private crc = 0;
  private appliedIndex = 0;
  private logTimeMs = 0;
  private sessionTtlMs = 0;
  private sessionsMax = 0;
  private sessionsLeft = 0;
  private keysLeft = 0;
  private readonly records: SessionRecord<KvWriteAnswer>[] = [];
  private readonly state = new PagedSortedMapBuilder();
  /** The last key read (UTF-8 in [0, previousKeyLength)), to check the order. */
  private previousKey = Buffer.alloc(0);
  private previousKeyLength = -1;
  private bytesSeen = 0;

  write(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.isDone()) throw this.error('bytes after the end of the snapshot');
    this.pendingParts.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.pendingLength += chunk.length;
    // A record larger than the chunks (a big value) is gathered whole before parsing again,
    // rather than re-concatenated with every chunk (quadratic).
    if (this.pendingLength < this.neededLength) return;
    const buf = this.pendingParts.length === 1 ? (this.pendingParts[0] as Buffer) : Buffer.concat(this.pendingParts);
    const cursor = new ChunkCursor(buf);
    let consumed = 0;
    this.neededLength = 0;
    try {
      while (!this.isDone()) {
        this.step(cursor);
        consumed = cursor.at;
      }
    } catch (e) {
      if (e !== NEED_MORE_BYTES) throw e;
      this.neededLength = cursor.neededLength - consumed;
    }
    // The CRC covers every byte before the final u32; the tail step checks it itself.
    if (!this.isDone()) this.crc = crc32c(buf.subarray(0, consumed), this.crc);
    this.bytesSeen += consumed;
    const rest = buf.subarray(consumed);
    if (this.isDone() && rest.length > 0) throw this.error(`${rest.length} bytes after the end of the snapshot`);
    // Copy the remainder: a partial record must not pin the whole chunk.
    this.pendingParts = rest.length === 0 ? [] : [Buffer.from(rest)];
    this.pendingLength = rest.length;
  }

  finish(): DecodedKvSnapshot {
    if (!this.isDone()) throw this.error(`snapshot truncated in its ${this.phase} section`);
    return {
      appliedIndex: this.appliedIndex,
      sessions: {
        limits: { sessionTtlMs: this.sessionTtlMs, sessionsMax: this.sessionsMax },
        logTimeMs: this.logTimeMs,
        records: this.records,
      },
      state: this.state.finish(),
    };
  }

  /** A method, not a field test, so narrowing does not assume step() left the phase alone. */
  private isDone(): boolean {
    return this.phase === 'done';
  }

  /** Reads one whole item of the current phase, or throws NEED_MORE_BYTES having changed nothing. */
  private step(c: ChunkCursor): void {
    switch (this.phase) {
      case 'header':
        return this.readHeader(c);
      case 'sessions': {
        if (this.sessionsLeft === 0) {
          this.phase = 'keys';
          return;
        }
        const clientId = c.str();
        const lastSeq = c.f64();
        const lastSeenMs = c.f64();
        const answer = readAnswer(c);
        this.records.push({ clientId, lastSeq, answer, lastSeenMs });
        this.sessionsLeft--;
        return;
      }
      case 'keys': {
        if (this.keysLeft === 0) {
          this.phase = 'tail';
          return;
        }
        const start = c.at;
        const key = c.bytes(c.u32());
        c.bytes(c.u32());
        this.checkAscending(key);
        this.state.addRecords(c.buf.subarray(start, c.at), 1);
        this.keysLeft--;
        return;
      }
      case 'tail': {
        const start = c.at;
        const magic = c.bytes(4);
        const stored = c.u32();
        if (!magic.equals(TAIL_MAGIC)) throw this.error('missing end marker');
        const crc = crc32c(c.buf.subarray(0, start + 4), this.crc);
        if (crc !== stored) throw this.error(`checksum mismatch: stored ${hex(stored)}, computed ${hex(crc)}`);
        this.phase = 'done';
        return;
      }
      case 'done':
        return;
    }
  }

  private readHeader(c: ChunkCursor): void {
    const magic = c.bytes(4);
    const version = c.u8();
    c.bytes(3);
    const appliedIndex = c.f64();
    const logTimeMs = c.f64();
    const sessionTtlMs = c.f64();
    const sessionsMax = c.f64();
    const sessionCount = c.f64();
    const keyCount = c.f64();
    if (!magic.equals(HEAD_MAGIC)) throw this.error('not a KV snapshot (bad magic)');
    if (version !== KV_SNAPSHOT_VERSION) throw this.error(`unknown snapshot version ${version}`);
    for (const [name, n] of [['appliedIndex', appliedIndex], ['sessionCount', sessionCount], ['keyCount', keyCount]] as const) {
      if (!Number.isSafeInteger(n) || n < 0) throw this.error(`bad ${name} ${n}`);
    }
    this.appliedIndex = appliedIndex;
    this.logTimeMs = logTimeMs;
    this.sessionTtlMs = sessionTtlMs;
    this.sessionsMax = sessionsMax;
    this.sessionsLeft = sessionCount;
    this.keysLeft = keyCount;
    this.phase = 'sessions';
  }

  /** Keys must be strictly ascending (UTF-8 byte order is code point order, key-order.ts). */
  private checkAscending(key: Buffer): void {
    const previous = this.previousKey;
    if (this.previousKeyLength >= 0 && compareBytes(previous, 0, this.previousKeyLength, key, 0, key.length) >= 0) {
      const before = previous.toString('utf8', 0, this.previousKeyLength);
      throw this.error(`keys out of order: ${JSON.stringify(before)} before ${JSON.stringify(key.toString('utf8'))}`);
    }
    if (key.length > previous.length) this.previousKey = Buffer.allocUnsafe(Math.max(key.length, 2 * previous.length, 64));
    this.previousKey.set(key, 0);
    this.previousKeyLength = key.length;
  }

  private error(message: string): SnapshotFormatError {
    return new SnapshotFormatError(`KV snapshot, near byte ${this.bytesSeen}: ${message}`);
  }
}

function readAnswer(c: ChunkCursor): KvWriteAnswer {
  const tag = c.u8();
  const key = c.str();
  switch (tag) {
    case ANSWER_PUT: {
      const value = c.str();
      return { key, value, index: c.f64() };
    }
    case ANSWER_DELETE: {
      const deleted = c.u8() === 1;
      return { key, deleted, index: c.f64() };
    }
    case ANSWER_CAS: {
      const succeeded = c.u8() === 1;
      const value = c.u8() === 1 ? c.str() : null;
      return { key, succeeded, value, index: c.f64() };
    }
    default:
      throw new SnapshotFormatError(`KV snapshot: unknown session answer tag ${tag}`);
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
