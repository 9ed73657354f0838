import type { InstallSnapshot } from '../core/messages.js';
import type { HostLog, HostSnapshotStore } from '../host-ports.js';
import { kv } from '../host-ports.js';
import type { SnapshotWriter } from '../../storage/snapshot-store.js';
import { StorageFailedError } from '../../storage/storage-errors.js';
import { snapshotKey, type SnapshotClaims } from '../snapshot-claims.js';
import type { SnapshotChunk } from './message-codec.js';

/** A chunk that does not continue the transfer in progress (lost, reordered, or a stale sender): 409. */
export class SnapshotChunkRefusedError extends Error {}

interface Incoming {
  /** Identifies the transfer: sender, its term, the snapshot. */
  readonly key: string;
  readonly message: InstallSnapshot;
  /** Null when the store already holds this snapshot: the chunks are only counted. */
  readonly writer: SnapshotWriter | null;
  nextOffset: number;
}

/**
 * The follower's side of a chunked InstallSnapshot: chunks stream through the SnapshotStore's
 * writer into a temp file; once the `done` chunk arrives the file is committed (fsync, rename,
 * fsync dir) and only then is the InstallSnapshot stepped into the core, whose Ready then has
 * the host restore the state machine from it. One transfer at a time: a new transfer (a chunk at
 * offset 0) replaces one in progress, so a new leader is never blocked by a dead one's stream.
 */
export class SnapshotReceiver {
  private incoming: Incoming | null = null;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: HostSnapshotStore,
    private readonly claims: SnapshotClaims,
    private readonly deliver: (message: InstallSnapshot) => void,
    private readonly log: HostLog,
  ) {}

  /** Chunks are handled one at a time, in arrival order. */
  receive(chunk: SnapshotChunk): Promise<void> {
    const run = this.tail.then(() => this.handle(chunk));
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Drops a transfer in progress (shutdown). */
  async close(): Promise<void> {
    await this.tail;
    await this.abortIncoming();
  }

  private async handle(chunk: SnapshotChunk): Promise<void> {
    const { message } = chunk;
    const key = `${message.from}@${message.term}/${snapshotKey(message.snapshot)}`;
    if (chunk.offset === 0) {
      await this.abortIncoming();
      this.incoming = await this.begin(key, message);
    }
    const incoming = this.incoming;
    if (incoming === null || incoming.key !== key || incoming.nextOffset !== chunk.offset) {
      throw new SnapshotChunkRefusedError(
        `chunk at offset ${chunk.offset} of snapshot ${snapshotKey(message.snapshot)} from ${message.from} does not continue the transfer in progress` +
          (incoming === null ? ' (none)' : ` (${incoming.key} at offset ${incoming.nextOffset})`),
      );
    }
    if (chunk.data.byteLength > 0) {
      if (incoming.writer !== null) {
        try {
          await incoming.writer.write(chunk.data);
        } catch (error) {
          await this.abortIncoming();
          throw error;
        }
      }
      incoming.nextOffset += chunk.data.byteLength;
    }
    if (!chunk.done) return;
    this.incoming = null;
    if (incoming.writer !== null) {
      try {
        await incoming.writer.commit();
      } finally {
        this.claims.release(message.snapshot);
      }
    }
    this.log.log(
      `event=snapshot_received ${kv({ from: message.from, index: message.snapshot.index, term: message.snapshot.term, bytes: incoming.nextOffset })}`,
    );
    this.deliver(message);
  }

  private async begin(key: string, message: InstallSnapshot): Promise<Incoming> {
    if (this.store.find(message.snapshot) !== null) return { key, message, writer: null, nextOffset: 0 };
    if (!this.claims.claim(message.snapshot)) {
      throw new SnapshotChunkRefusedError(`snapshot ${snapshotKey(message.snapshot)} is being written by this node right now; retry later`);
    }
    try {
      return { key, message, writer: await this.store.beginWrite(message.snapshot), nextOffset: 0 };
    } catch (error) {
      this.claims.release(message.snapshot);
      throw error;
    }
  }

  private async abortIncoming(): Promise<void> {
    const incoming = this.incoming;
    this.incoming = null;
    if (incoming === null || incoming.writer === null) return;
    try {
      await incoming.writer.abort();
    } finally {
      this.claims.release(incoming.message.snapshot);
    }
  }
}

/** Whether a receive failure is the disk's (fatal) rather than the transfer's. */
export function isStorageFailure(error: unknown): boolean {
  return error instanceof StorageFailedError;
}
