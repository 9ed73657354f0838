import type { InstallSnapshot, NodeId } from '../core/messages.js';
import type { HostLog, HostSnapshotStore } from '../host-ports.js';
import { kv } from '../host-ports.js';
import type { SnapshotInfo } from '../../storage/snapshot-store.js';
import { encodeSnapshotChunk } from './message-codec.js';
import type { BatchPoster } from './peer-channel.js';
import { SNAPSHOT_ROUTE } from './peer-routes.js';

export interface SnapshotSenderEvents {
  /** The stream to `peer` ended: `ok` when every chunk and the final `done` were accepted. */
  finished(peer: NodeId, ok: boolean): void;
}

/**
 * Streams a stored snapshot to a follower (InstallSnapshot, chunked): one request per
 * `chunkBytes` of data, each waiting for the previous one's answer, then a last empty chunk
 * marked `done` once the whole file was read and passed its checksum. At most one stream per
 * follower; an InstallSnapshot for a follower already being streamed to is ignored (the core
 * asks again after its snapshot timeout if the stream is lost).
 *
 * The core names the snapshot its log starts from; if the store pruned it meanwhile (a newer
 * one came in), the newest stored snapshot at or after it is sent instead: it is committed
 * state too, and the leader's log continues it.
 */
export class SnapshotSender {
  private readonly streaming = new Set<NodeId>();
  private closed = false;

  constructor(
    private readonly store: HostSnapshotStore,
    private readonly posterOf: (peer: NodeId) => BatchPoster | undefined,
    private readonly chunkBytes: number,
    private readonly events: SnapshotSenderEvents,
    private readonly log: HostLog,
  ) {}

  isStreamingTo(peer: NodeId): boolean {
    return this.streaming.has(peer);
  }

  send(message: InstallSnapshot): void {
    const peer = message.to;
    if (this.closed || this.streaming.has(peer)) return;
    this.streaming.add(peer);
    void this.stream(message)
      .catch(() => false)
      .then((ok) => {
        this.streaming.delete(peer);
        if (!this.closed) this.events.finished(peer, ok);
      });
  }

  close(): void {
    this.closed = true;
  }

  private async stream(requested: InstallSnapshot): Promise<boolean> {
    const peer = requested.to;
    const poster = this.posterOf(peer);
    const info = this.pick(requested);
    if (poster === undefined || info === null) {
      this.log.warn(`event=snapshot_send_failed ${kv({ peer, index: requested.snapshot.index, term: requested.snapshot.term, error: 'snapshot not in the store' })}`);
      return false;
    }
    const message: InstallSnapshot = { ...requested, snapshot: info.meta };
    const startedMs = Date.now();
    let offset = 0;
    try {
      for await (const data of this.store.openRead(info.meta, this.chunkBytes)) {
        if (this.closed) return false;
        await poster.post(SNAPSHOT_ROUTE, encodeSnapshotChunk({ message, offset, done: false, data }));
        offset += data.byteLength;
      }
      await poster.post(SNAPSHOT_ROUTE, encodeSnapshotChunk({ message, offset, done: true, data: new Uint8Array(0) }));
    } catch (error) {
      this.log.warn(
        `event=snapshot_send_failed ${kv({ peer, index: info.meta.index, term: info.meta.term, offset, error: error instanceof Error ? error.message : String(error) })}`,
      );
      return false;
    }
    this.log.log(`event=snapshot_sent ${kv({ peer, index: info.meta.index, term: info.meta.term, bytes: offset, ms: Date.now() - startedMs })}`);
    return true;
  }

  private pick(requested: InstallSnapshot): SnapshotInfo | null {
    const exact = this.store.find(requested.snapshot);
    if (exact !== null) return exact;
    // list() is newest first: the oldest one at or after the requested index.
    const later = this.store.list().filter((s) => s.meta.index >= requested.snapshot.index);
    return later[later.length - 1] ?? null;
  }
}
