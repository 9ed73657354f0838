/**
 * What the consensus host needs from the world, as narrow interfaces: the real node passes
 * RaftStorage, the peer transport, MetricsService and Nest's Logger; tests pass fakes and drive
 * the host directly, without the Nest container.
 */
import type { Message, NodeId, SnapshotMeta } from './core/messages.js';
import type { StorageStatus, StorageUpdate } from '../storage/raft-storage.js';
import type { SnapshotInfo, SnapshotWriter } from '../storage/snapshot-store.js';

/** The subset of SnapshotStore the host and the transport use. */
export interface HostSnapshotStore {
  latest(): SnapshotInfo | null;
  list(): readonly SnapshotInfo[];
  find(meta: Pick<SnapshotMeta, 'index' | 'term'>): SnapshotInfo | null;
  beginWrite(meta: SnapshotMeta): Promise<SnapshotWriter>;
  /** The data in chunks; throws at the end if it fails its checksum. */
  openRead(meta: Pick<SnapshotMeta, 'index' | 'term'>, chunkBytes?: number): AsyncGenerator<Uint8Array>;
}

/** The subset of RaftStorage the host uses once the node is running. */
export interface HostStorage {
  /** Persists one Ready (snapshot effect, entries, hard state); resolves once durable. */
  save(update: StorageUpdate): Promise<void>;
  /** Drops WAL segments wholly covered by a snapshot already in the store. */
  compact(meta: SnapshotMeta): Promise<void>;
  status(): StorageStatus;
  readonly snapshots: HostSnapshotStore;
  close(): Promise<void>;
}

/** Delivers messages to peers. Never blocks and never throws for a peer's trouble: Raft tolerates loss. */
export interface HostTransport {
  /** Queues each message for its peer; InstallSnapshot streams the stored snapshot it names. */
  send(messages: readonly Message[]): void;
  /** Wall-clock ms of the last successful exchange with `peer`, or null if none yet. */
  lastContactAt(peer: NodeId): number | null;
  close(): Promise<void>;
}

/** The MetricsService methods the host calls (same names, so MetricsService fits as is). */
export interface HostMetrics {
  observeFsyncSeconds(s: number): void;
  observeEntriesPerFsync(n: number): void;
  incProposals(outcome: 'committed' | 'failed'): void;
  incSnapshots(kind: 'taken' | 'sent' | 'installed'): void;
  incLeaderChanges(): void;
}

/** One structured line per event (`event=... key=value`); Nest's Logger fits. */
export interface HostLog {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Wall-clock time in ms since the epoch: stamped into commands, drives request deadlines. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Formats `key=value` pairs; values with spaces or quotes are JSON-quoted. */
export function kv(fields: Readonly<Record<string, string | number | boolean | null | undefined>>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const text = value === null ? '-' : String(value);
    parts.push(`${key}=${/^[\w.:/@,+-]+$/.test(text) ? text : JSON.stringify(text)}`);
  }
  return parts.join(' ');
}
