/**
 * The peer wire format: Raft messages in a compact binary encoding, several to a request.
 * Entries' data is already bytes (the command codec's) and is copied in as is: no JSON, no
 * per-entry object on the wire. Numbers (terms, indexes, contexts) are non-negative safe
 * integers carried as float64, which holds every one of them exactly; the decoder refuses
 * anything else. Little-endian throughout; str = u8 byte length + UTF-8 (node ids are at most
 * 64 ASCII characters).
 *
 *   batch:   u8 PROTOCOL_VERSION | u32 count | message * count
 *   message: u8 version | u8 type | u8 flags | str from | str to | f64 term | body (by type)
 *     RequestVote            f64 lastLogIndex | f64 lastLogTerm          flags: PRE_VOTE, TRANSFER
 *     RequestVoteResponse    -                                           flags: PRE_VOTE, GRANTED
 *     AppendEntries          f64 prevLogIndex | f64 prevLogTerm | f64 commit | u32 n | entry * n
 *       entry                f64 index | f64 term | u8 kind (0 command, 1 noop) | u32 bytes | data
 *     AppendEntriesResponse  f64 matchIndex | [HINT] f64 conflictIndex f64 conflictTerm
 *                            | [REJECTED] f64 rejectedIndex             flags: SUCCESS, HINT, REJECTED
 *     Heartbeat              f64 commit | f64 context
 *     HeartbeatResponse      f64 context
 *     InstallSnapshot        snapshot meta: f64 index | f64 term | u16 voters | str * voters
 *     TimeoutNow             -
 *
 *   snapshot chunk (one request of a chunked InstallSnapshot):
 *            InstallSnapshot message | f64 offset | u8 done | data (the rest of the body)
 *
 * Every message carries its own version so a batch can never smuggle one of another version;
 * a peer speaking another version is refused (ProtocolVersionError, answered 400).
 */
import { Buffer } from 'node:buffer';
import { PROTOCOL_VERSION, type Entry, type InstallSnapshot, type Message, type MessageType, type SnapshotMeta } from '../core/messages.js';
import { ByteCursor } from '../../kv/byte-cursor.js';

/** The body is not a well-formed batch or chunk: a bug or damage, answered 400. */
export class MessageDecodeError extends Error {
  override readonly name = 'MessageDecodeError';
}

/** The peer speaks another protocol version: answered 400 naming both versions. */
export class ProtocolVersionError extends Error {
  override readonly name = 'ProtocolVersionError';
  constructor(readonly received: number) {
    super(`peer protocol version ${received} is not this node's ${PROTOCOL_VERSION}`);
  }
}

const TYPE_CODES: Readonly<Record<MessageType, number>> = {
  RequestVote: 1,
  RequestVoteResponse: 2,
  AppendEntries: 3,
  AppendEntriesResponse: 4,
  Heartbeat: 5,
  HeartbeatResponse: 6,
  InstallSnapshot: 7,
  TimeoutNow: 8,
};
const TYPE_BY_CODE: readonly (MessageType | undefined)[] = [
  undefined,
  'RequestVote',
  'RequestVoteResponse',
  'AppendEntries',
  'AppendEntriesResponse',
  'Heartbeat',
  'HeartbeatResponse',
  'InstallSnapshot',
  'TimeoutNow',
];

const FLAG_PRE_VOTE = 1;
const FLAG_TRANSFER = 2;
const FLAG_GRANTED = 4;
const FLAG_SUCCESS = 8;
const FLAG_HINT = 16;
const FLAG_REJECTED = 32;

const ENTRY_COMMAND = 0;
const ENTRY_NOOP = 1;

const BATCH_HEADER_BYTES = 1 + 4;
const MESSAGE_HEADER_FIXED_BYTES = 3 + 8;
const ENTRY_HEADER_BYTES = 8 + 8 + 1 + 4;
/** A sanity bound on a batch's message count, far above any real batch. */
export const BATCH_MESSAGES_MAX = 1_000_000;
const STR_BYTES_MAX = 255;
const VOTERS_MAX = 0xffff;

/** Bytes `m` takes in a batch. Exact, so the encoder allocates once. */
export function encodedMessageBytes(m: Message): number {
  let bytes = MESSAGE_HEADER_FIXED_BYTES + strBytes(m.from) + strBytes(m.to);
  switch (m.type) {
    case 'RequestVote':
      return bytes + 16;
    case 'RequestVoteResponse':
    case 'TimeoutNow':
      return bytes;
    case 'AppendEntries':
      bytes += 8 * 3 + 4;
      for (const e of m.entries) bytes += ENTRY_HEADER_BYTES + e.data.byteLength;
      return bytes;
    case 'AppendEntriesResponse':
      return bytes + 8 + (m.rejectHint !== undefined ? 16 : 0) + (m.rejectedIndex !== undefined ? 8 : 0);
    case 'Heartbeat':
      return bytes + 16;
    case 'HeartbeatResponse':
      return bytes + 8;
    case 'InstallSnapshot':
      return bytes + snapshotMetaBytes(m.snapshot);
  }
}

export function encodeBatch(messages: readonly Message[]): Buffer {
  let total = BATCH_HEADER_BYTES;
  for (const m of messages) total += encodedMessageBytes(m);
  const w = new Writer(Buffer.allocUnsafe(total));
  w.u8(PROTOCOL_VERSION);
  w.u32(messages.length);
  for (const m of messages) writeMessage(w, m);
  w.assertFull();
  return w.buf;
}

/** Decodes a whole batch; entries' data are views into `body` (no copy). */
export function decodeBatch(body: Buffer): Message[] {
  const r = new Reader(body);
  const version = r.u8();
  if (version !== PROTOCOL_VERSION) throw new ProtocolVersionError(version);
  const count = r.u32();
  if (count > BATCH_MESSAGES_MAX) throw new MessageDecodeError(`batch claims ${count} messages`);
  const messages: Message[] = [];
  for (let k = 0; k < count; k++) messages.push(readMessage(r));
  r.assertEnd();
  return messages;
}

export interface SnapshotChunk {
  /** Who sends which snapshot, in which term: stepped into the core once every chunk arrived. */
  readonly message: InstallSnapshot;
  /** Byte offset of `data` in the snapshot's data stream. */
  readonly offset: number;
  /** The last chunk: the sender read the whole snapshot and it passed its checksum. */
  readonly done: boolean;
  readonly data: Uint8Array;
}

export function encodeSnapshotChunk(chunk: SnapshotChunk): Buffer {
  const headerBytes = encodedMessageBytes(chunk.message) + 8 + 1;
  const w = new Writer(Buffer.allocUnsafe(headerBytes + chunk.data.byteLength));
  writeMessage(w, chunk.message);
  w.f64(chunk.offset);
  w.u8(chunk.done ? 1 : 0);
  w.bytes(chunk.data);
  w.assertFull();
  return w.buf;
}

export function decodeSnapshotChunk(body: Buffer): SnapshotChunk {
  const r = new Reader(body);
  const message = readMessage(r);
  if (message.type !== 'InstallSnapshot') throw new MessageDecodeError(`a snapshot chunk carries ${message.type}`);
  const offset = r.num();
  const done = r.u8();
  if (done > 1) throw new MessageDecodeError(`bad done flag ${done}`);
  return { message, offset, done: done === 1, data: r.rest() };
}

function writeMessage(w: Writer, m: Message): void {
  let flags = 0;
  switch (m.type) {
    case 'RequestVote':
      flags = (m.preVote ? FLAG_PRE_VOTE : 0) | (m.transfer ? FLAG_TRANSFER : 0);
      break;
    case 'RequestVoteResponse':
      flags = (m.preVote ? FLAG_PRE_VOTE : 0) | (m.granted ? FLAG_GRANTED : 0);
      break;
    case 'AppendEntriesResponse':
      flags = (m.success ? FLAG_SUCCESS : 0) | (m.rejectHint !== undefined ? FLAG_HINT : 0) | (m.rejectedIndex !== undefined ? FLAG_REJECTED : 0);
      break;
    default:
      break;
  }
  w.u8(m.version);
  w.u8(TYPE_CODES[m.type]);
  w.u8(flags);
  w.str(m.from);
  w.str(m.to);
  w.f64(m.term);
  switch (m.type) {
    case 'RequestVote':
      w.f64(m.lastLogIndex);
      w.f64(m.lastLogTerm);
      return;
    case 'RequestVoteResponse':
    case 'TimeoutNow':
      return;
    case 'AppendEntries':
      w.f64(m.prevLogIndex);
      w.f64(m.prevLogTerm);
      w.f64(m.commit);
      w.u32(m.entries.length);
      for (const e of m.entries) {
        w.f64(e.index);
        w.f64(e.term);
        w.u8(e.type === 'noop' ? ENTRY_NOOP : ENTRY_COMMAND);
        w.u32(e.data.byteLength);
        w.bytes(e.data);
      }
      return;
    case 'AppendEntriesResponse':
      w.f64(m.matchIndex);
      if (m.rejectHint !== undefined) {
        w.f64(m.rejectHint.conflictIndex);
        w.f64(m.rejectHint.conflictTerm);
      }
      if (m.rejectedIndex !== undefined) w.f64(m.rejectedIndex);
      return;
    case 'Heartbeat':
      w.f64(m.commit);
      w.f64(m.context);
      return;
    case 'HeartbeatResponse':
      w.f64(m.context);
      return;
    case 'InstallSnapshot':
      writeSnapshotMeta(w, m.snapshot);
      return;
  }
}

function readMessage(r: Reader): Message {
  const version = r.u8();
  if (version !== PROTOCOL_VERSION) throw new ProtocolVersionError(version);
  const code = r.u8();
  const type = TYPE_BY_CODE[code];
  if (type === undefined) throw new MessageDecodeError(`unknown message type code ${code}`);
  const flags = r.u8();
  const from = r.str();
  const to = r.str();
  const term = r.num();
  const base = { version, from, to, term };
  switch (type) {
    case 'RequestVote':
      return {
        ...base,
        type,
        preVote: (flags & FLAG_PRE_VOTE) !== 0,
        transfer: (flags & FLAG_TRANSFER) !== 0,
        lastLogIndex: r.num(),
        lastLogTerm: r.num(),
      };
    case 'RequestVoteResponse':
      return { ...base, type, preVote: (flags & FLAG_PRE_VOTE) !== 0, granted: (flags & FLAG_GRANTED) !== 0 };
    case 'AppendEntries': {
      const prevLogIndex = r.num();
      const prevLogTerm = r.num();
      const commit = r.num();
      const count = r.u32();
      // Each entry takes at least its header: a count beyond what the body holds is damage.
      if (count * ENTRY_HEADER_BYTES > r.remaining()) throw new MessageDecodeError(`AppendEntries claims ${count} entries`);
      const entries: Entry[] = new Array(count);
      for (let k = 0; k < count; k++) entries[k] = readEntry(r);
      return { ...base, type, prevLogIndex, prevLogTerm, commit, entries };
    }
    case 'AppendEntriesResponse': {
      const matchIndex = r.num();
      const rejectHint = (flags & FLAG_HINT) !== 0 ? { conflictIndex: r.num(), conflictTerm: r.num() } : undefined;
      const rejectedIndex = (flags & FLAG_REJECTED) !== 0 ? r.num() : undefined;
      return {
        ...base,
        type,
        success: (flags & FLAG_SUCCESS) !== 0,
        matchIndex,
        ...(rejectHint !== undefined ? { rejectHint } : {}),
        ...(rejectedIndex !== undefined ? { rejectedIndex } : {}),
      };
    }
    case 'Heartbeat':
      return { ...base, type, commit: r.num(), context: r.num() };
    case 'HeartbeatResponse':
      return { ...base, type, context: r.num() };
    case 'InstallSnapshot':
      return { ...base, type, snapshot: readSnapshotMeta(r) };
    case 'TimeoutNow':
      return { ...base, type };
  }
}

function readEntry(r: Reader): Entry {
  const index = r.num();
  const term = r.num();
  const kind = r.u8();
  if (kind !== ENTRY_COMMAND && kind !== ENTRY_NOOP) throw new MessageDecodeError(`unknown entry kind ${kind}`);
  const data = r.bytes(r.u32());
  return { index, term, type: kind === ENTRY_NOOP ? 'noop' : 'command', data };
}

function snapshotMetaBytes(meta: SnapshotMeta): number {
  let bytes = 8 + 8 + 2;
  for (const voter of meta.config.voters) bytes += strBytes(voter);
  return bytes;
}

function writeSnapshotMeta(w: Writer, meta: SnapshotMeta): void {
  w.f64(meta.index);
  w.f64(meta.term);
  if (meta.config.voters.length > VOTERS_MAX) throw new RangeError(`too many voters: ${meta.config.voters.length}`);
  w.u16(meta.config.voters.length);
  for (const voter of meta.config.voters) w.str(voter);
}

function readSnapshotMeta(r: Reader): SnapshotMeta {
  const index = r.num();
  const term = r.num();
  const count = r.u16();
  const voters: string[] = [];
  for (let k = 0; k < count; k++) voters.push(r.str());
  return { index, term, config: { voters } };
}

function strBytes(s: string): number {
  return 1 + Buffer.byteLength(s, 'utf8');
}

class Writer {
  private at = 0;
  constructor(readonly buf: Buffer) {}

  u8(v: number): void {
    this.buf[this.at++] = v;
  }
  u16(v: number): void {
    this.at = this.buf.writeUInt16LE(v, this.at);
  }
  u32(v: number): void {
    this.at = this.buf.writeUInt32LE(v, this.at);
  }
  f64(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`not a non-negative safe integer: ${v}`);
    this.at = this.buf.writeDoubleLE(v, this.at);
  }
  str(s: string): void {
    const bytes = Buffer.byteLength(s, 'utf8');
    if (bytes > STR_BYTES_MAX) throw new RangeError(`string too long for the wire: ${s.slice(0, 40)}`);
    this.buf[this.at] = bytes;
    this.buf.write(s, this.at + 1, bytes, 'utf8');
    this.at += 1 + bytes;
  }
  bytes(data: Uint8Array): void {
    this.buf.set(data, this.at);
    this.at += data.byteLength;
  }
  assertFull(): void {
    if (this.at !== this.buf.length) throw new Error(`encoder wrote ${this.at} of ${this.buf.length} bytes`);
  }
}

class Reader extends ByteCursor {
  protected short(n: number): never {
    throw new MessageDecodeError(`truncated at byte ${this.at} (need ${n} more)`);
  }
  /** An index, term or count: a non-negative safe integer sent as f64. */
  num(): number {
    const v = this.f64();
    if (!Number.isSafeInteger(v) || v < 0) throw new MessageDecodeError(`bad number ${v} at byte ${this.at - 8}`);
    return v;
  }
  /** Ids and contexts are short: a u8 length prefix here, unlike the KV formats. */
  override str(): string {
    const n = this.u8();
    return this.bytes(n).toString('utf8');
  }
  rest(): Uint8Array {
    return this.bytes(this.remaining());
  }
  assertEnd(): void {
    if (this.at !== this.buf.length) throw new MessageDecodeError(`${this.buf.length - this.at} bytes after the last message`);
  }
}
