import { join } from 'node:path';
import type { HardState } from '../consensus/core/messages.js';
import type { FileSystem } from './fs/file-system.js';
import { describeError, StorageCorruptionError, StorageFailedError } from './storage-errors.js';
import { encodeFrame, FRAME_HEADER_BYTES, FrameDecoder, FrameStatus, describeFrameStatus, readU64, RecordType, writeU64 } from './wal/record-codec.js';

export const INITIAL_HARD_STATE: HardState = { term: 0, vote: null, commit: 0 };

const STATE_FILE = 'state';
const STATE_TMP_FILE = 'state.tmp';
/** type u8 | term u64 | commit u64 | voteBytes u16 (NO_VOTE for none) | vote UTF-8 */
const HEADER_BYTES = 19;
const NO_VOTE = 0xffff;
/** A node id longer than this is a configuration error, not something to store. */
const VOTE_BYTES_MAX = 1024;

export interface HardStateStoreOptions {
  readonly fsync?: boolean;
}

/**
 * The `state` file: term, vote and commit as ONE checksummed record (term and vote are never
 * written apart), replaced atomically: write `state.tmp`, fsync it, rename it over `state`, fsync
 * the directory. A crash leaves either the old record or the new one.
 */
export class HardStateStore {
  private durable: HardState;
  private tail: Promise<void> = Promise.resolve();
  private failure: StorageFailedError | null = null;

  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    initial: HardState,
    private readonly fsync: boolean,
  ) {
    this.durable = initial;
  }

  /** Loads `state` (the initial state when there is none); a leftover `state.tmp` is discarded. */
  static async open(fs: FileSystem, dir: string, options: HardStateStoreOptions = {}): Promise<HardStateStore> {
    await fs.mkdir(dir);
    if (await fs.stat(join(dir, STATE_TMP_FILE))) await fs.unlink(join(dir, STATE_TMP_FILE));
    const path = join(dir, STATE_FILE);
    const stat = await fs.stat(path);
    const initial = stat ? await readStateFile(fs, path, stat.size, options.fsync ?? true) : INITIAL_HARD_STATE;
    // The rename that installed `state` may never have been made durable (the previous process
    // died after a failed directory fsync): the term and vote read here must not vanish at the
    // next power loss, or the node could vote twice in a term.
    if (options.fsync ?? true) await fs.syncDir(dir);
    return new HardStateStore(fs, dir, initial, options.fsync ?? true);
  }

  /** The last state saved (durable, unless fsync is off). */
  get current(): HardState {
    return this.durable;
  }

  /** Saves are applied in call order; each resolves once its state is durable. */
  save(state: HardState): Promise<void> {
    const problem = hardStateProblem(state);
    if (problem) return Promise.reject(new RangeError(`hard state: ${problem}`));
    if (this.failure) return Promise.reject(this.failure);
    const run = this.tail.then(async () => {
      if (this.failure) throw this.failure;
      if (sameHardState(state, this.durable)) return;
      try {
        await this.replace(encodeHardState(state));
      } catch (error) {
        this.failure = new StorageFailedError(`saving ${join(this.dir, STATE_FILE)} failed: ${describeError(error)}`, { cause: error });
        throw this.failure;
      }
      this.durable = state;
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async replace(frame: Buffer): Promise<void> {
    const tmpPath = join(this.dir, STATE_TMP_FILE);
    const handle = await this.fs.open(tmpPath, 'write');
    try {
      await handle.truncate(0);
      await handle.write(frame, 0);
      if (this.fsync) await handle.sync();
    } finally {
      await handle.close();
    }
    await this.fs.rename(tmpPath, join(this.dir, STATE_FILE));
    if (this.fsync) await this.fs.syncDir(this.dir);
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function hardStateProblem(state: HardState): string | null {
  if (!Number.isSafeInteger(state.term) || state.term < 0) return `bad term ${state.term}`;
  if (!Number.isSafeInteger(state.commit) || state.commit < 0) return `bad commit ${state.commit}`;
  if (state.vote !== null && Buffer.byteLength(state.vote) > VOTE_BYTES_MAX) return 'vote: node id too long';
  return null;
}

export function encodeHardState(state: HardState): Buffer {
  const vote = state.vote === null ? null : Buffer.from(state.vote, 'utf8');
  const payload = Buffer.alloc(HEADER_BYTES + (vote?.length ?? 0));
  payload[0] = RecordType.HardState;
  writeU64(payload, 1, state.term);
  writeU64(payload, 9, state.commit);
  payload.writeUInt16LE(vote === null ? NO_VOTE : vote.length, 17);
  if (vote) payload.set(vote, HEADER_BYTES);
  return encodeFrame(payload);
}

async function readStateFile(fs: FileSystem, path: string, size: number, fsync: boolean): Promise<HardState> {
  const limit = FRAME_HEADER_BYTES + HEADER_BYTES + VOTE_BYTES_MAX;
  if (size > limit) throw new StorageCorruptionError(path, 0, `file is ${size} bytes, more than a state record can be (${limit})`);
  const handle = await fs.open(path, 'read');
  const bytes = Buffer.alloc(size);
  try {
    await handle.read(bytes, 0);
    // Durable before it is relied on (see open).
    if (fsync) await handle.sync();
  } finally {
    await handle.close();
  }
  return decodeHardState(bytes, path);
}

export function decodeHardState(bytes: Buffer, path: string): HardState {
  const decoder = new FrameDecoder();
  const status = decoder.decode(bytes, 0, bytes.length);
  if (status !== FrameStatus.Ok) throw new StorageCorruptionError(path, 0, describeFrameStatus(status, decoder.length));
  if (decoder.frameEnd !== bytes.length) {
    throw new StorageCorruptionError(path, decoder.frameEnd, `${bytes.length - decoder.frameEnd} unexpected bytes after the record`);
  }
  const start = decoder.payloadStart;
  const payloadBytes = decoder.payloadEnd - start;
  if (payloadBytes < HEADER_BYTES || bytes[start] !== RecordType.HardState) {
    throw new StorageCorruptionError(path, start, 'not a hard state record');
  }
  const term = readU64(bytes, start + 1);
  const commit = readU64(bytes, start + 9);
  const voteBytes = bytes.readUInt16LE(start + 17);
  const expected = HEADER_BYTES + (voteBytes === NO_VOTE ? 0 : voteBytes);
  if (term < 0 || commit < 0 || payloadBytes !== expected) throw new StorageCorruptionError(path, start, 'malformed hard state record');
  const vote = voteBytes === NO_VOTE ? null : bytes.toString('utf8', start + HEADER_BYTES, start + HEADER_BYTES + voteBytes);
  return { term, vote, commit };
}
