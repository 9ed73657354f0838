import { BadRequestException, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { RaftConfig } from '../config/raft-config.js';
import type { KvWriteAnswer } from '../kv/commands.js';
import type { KvStateMachine } from '../kv/kv-state-machine.js';
import { MetricsService } from '../metrics/metrics.service.js';
import type { RaftStorage } from '../storage/raft-storage.js';
import { RaftStorageFactory } from '../storage/storage.module.js';
import type { NodeId } from './core/messages.js';
import { kv, systemClock } from './host-ports.js';
import { KvNode, UnavailableError, type KvWriteRequest, type NodeIdentity, type NodeStatus } from './kv-node.port.js';
import { bootFromStorage } from './node-boot.js';
import { InvalidTransferTargetError, RaftHost } from './raft-host.js';
import { SnapshotClaims } from './snapshot-claims.js';
import { PeerRpcHandler } from './transport/peer-rpc-handler.js';
import { observeBatch } from './transport/peer-traffic.js';
import { PeerTransport } from './transport/peer-transport.js';
import { SnapshotReceiver } from './transport/snapshot-receiver.js';

/** Idle sessions expire by log time, so the leader moves log time on even when no client writes. */
const SESSION_HOUSEKEEPING_MS = 60_000;
const COMMIT_PERSIST_INTERVAL_MS = 1_000;
/** Bytes in a peer request beside its entries: headers of the messages in a batch, chunk headers. */
const PEER_BODY_SLACK_BYTES = 1024 * 1024;

/**
 * The node: boots the Raft core from the data directory, runs the host loop (RaftHost), the peer
 * transport and the snapshot receiver, and serves the HTTP layer as its KvNode.
 *
 * Boot (onModuleInit): take the data-dir lock and recover storage (a torn WAL tail is repaired
 * and logged; damage elsewhere throws, naming file and offset), restore the state machine from
 * the newest snapshot, rebuild the core; the committed entries after the snapshot are re-applied
 * by the loop. Shutdown (onApplicationShutdown, after the HTTP server stopped accepting): finish
 * the Ready in flight, flush the hard state, close the peers, close storage (releases the lock).
 */
@Injectable()
export class RaftHostService extends KvNode implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('RaftHost');
  private readonly startedMs = Date.now();
  private node: {
    readonly host: RaftHost;
    readonly storage: RaftStorage;
    readonly transport: PeerTransport;
    readonly receiver: SnapshotReceiver;
    readonly rpc: PeerRpcHandler;
  } | null = null;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly config: RaftConfig,
    private readonly storageFactory: RaftStorageFactory,
    private readonly metrics: MetricsService,
  ) {
    super();
  }

  async onModuleInit(): Promise<void> {
    const config = this.config;
    const startedMs = Date.now();
    const storage = await this.storageFactory.open(config.dataDir, {
      fsync: !config.unsafeNoFsync,
      segmentBytesMax: config.walSegmentBytesMax,
      logger: { log: (m) => this.logger.log(`event=storage ${kv({ message: m })}`), warn: (m) => this.logger.warn(`event=storage ${kv({ message: m })}`) },
    });
    try {
      const booted = await bootFromStorage(config, storage);
      const claims = new SnapshotClaims();
      const transport = new PeerTransport(
        {
          nodeId: config.id,
          peers: config.peers,
          clusterToken: config.clusterToken,
          requestTimeoutMs: Math.max(2_000, 4 * config.electionTimeoutMaxMs),
          snapshotChunkBytes: config.snapshotChunkBytes,
          channel: {
            queueMessagesMax: 10_000,
            queueBytesMax: Math.max(64 * 1024 * 1024, 4 * config.appendBatchBytesMax),
            batchBytesMax: config.appendBatchBytesMax,
            // Retry a refused connection soon (a peer restarting), but well within an election timeout.
            backoffMinMs: 25,
            backoffMaxMs: Math.max(100, Math.floor(config.electionTimeoutMinMs / 2)),
          },
        },
        storage.snapshots,
        this.metrics,
        this.logger,
        systemClock,
      );
      const host = new RaftHost(
        {
          nodeId: config.id,
          requestTimeoutMs: config.requestTimeoutMs,
          pendingProposalsMax: config.pendingProposalsMax,
          pendingReadsMax: config.pendingProposalsMax,
          snapshotEntries: config.snapshotEntries,
          snapshotChunkBytes: config.snapshotChunkBytes,
          sessionLimits: { sessionTtlMs: config.sessionTtlMs, sessionsMax: config.sessionsMax },
          sessionHousekeepingMs: SESSION_HOUSEKEEPING_MS,
          commitPersistIntervalMs: COMMIT_PERSIST_INTERVAL_MS,
          transferTimeoutMs: 2 * config.electionTimeoutMaxMs + 1_000,
          memberUrl: (id) => this.memberUrl(id),
        },
        {
          raft: booted.raft,
          storage,
          transport,
          stateMachine: booted.stateMachine,
          clock: systemClock,
          metrics: this.metrics,
          log: this.logger,
          durableHardState: storage.hardState,
          restoredSnapshot: booted.snapshot,
          claims,
          fatal: (error) => this.fatal(error),
        },
      );
      transport.attach(host);
      const receiver = new SnapshotReceiver(storage.snapshots, claims, (m) => host.step(m), this.logger);
      const rpc = new PeerRpcHandler(
        { nodeId: config.id, members: booted.raft.voters, clusterToken: config.clusterToken },
        {
          // The answers ride back on the response (see peer-routes.ts).
          stepAll: (ms) => {
            const from = ms[0]?.from;
            if (from === undefined) return;
            return transport.gatherReplies(from, () => host.stepAll(ms), () => host.settled());
          },
          received: (ms) => observeBatch(this.metrics, 'received', ms),
          noteContact: (peer) => transport.noteContact(peer),
          fatal: (e) => this.fatal(e),
        },
        receiver,
        this.logger,
      );
      this.node = { host, storage, transport, receiver, rpc };
      const s = booted.raft.status();
      this.logger.log(
        `event=node_started ${kv({
          id: config.id,
          term: s.term,
          vote: s.vote,
          commit: s.commit,
          snapshot_index: booted.snapshot?.index ?? 0,
          first_index: s.firstIndex,
          last_index: s.lastIndex,
          entries_loaded: booted.entriesLoaded,
          voters: s.voters.join(','),
          data_dir: config.dataDir,
          fsync: !config.unsafeNoFsync,
          ms: Date.now() - startedMs,
        })}`,
      );
      if (config.unsafeNoFsync) this.logger.warn('event=unsafe_no_fsync message="fsync is off: a crash can lose acknowledged writes"');
    } catch (error) {
      await storage.close().catch(() => undefined);
      throw error;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing ??= this.close();
    await this.closing;
  }

  /** The peer RPC handler (null until booted). */
  get peerRpc(): PeerRpcHandler | null {
    return this.node?.rpc ?? null;
  }

  /** Largest body a peer request may carry: a batch (entries up to the append limit plus one entry), or one snapshot chunk. */
  peerBodyBytesMax(route: string): number {
    const maxEntryBytes = 2 * this.config.valueBytesMax + this.config.keyBytesMax + PEER_BODY_SLACK_BYTES;
    if (route === 'install-snapshot') return this.config.snapshotChunkBytes + PEER_BODY_SLACK_BYTES;
    return 2 * this.config.appendBatchBytesMax + maxEntryBytes + PEER_BODY_SLACK_BYTES;
  }

  tick(): void {
    this.node?.host.tick();
  }

  // ---------------- KvNode ----------------

  identity(): NodeIdentity {
    const raft = this.node?.host.raft;
    return { nodeId: this.config.id, role: raft?.role ?? 'follower', term: raft?.term ?? 0, leaderId: raft?.leaderId ?? null };
  }

  memberUrl(id: NodeId): string | null {
    if (id === this.config.id) {
      const host = this.config.host === '0.0.0.0' || this.config.host === '::' ? '127.0.0.1' : this.config.host;
      return `http://${host.includes(':') ? `[${host}]` : host}:${this.config.port}`;
    }
    return this.config.peers.find((p) => p.id === id)?.url ?? null;
  }

  write(command: KvWriteRequest): Promise<KvWriteAnswer> {
    return this.running().write(command);
  }

  readBarrier(): Promise<void> {
    return this.running().readBarrier();
  }

  get stateMachine(): KvStateMachine {
    return this.running().stateMachine;
  }

  status(): NodeStatus {
    const { host, storage, transport } = this.booted();
    const s = host.raft.status();
    const st = storage.status();
    const nowMs = Date.now();
    return {
      nodeId: this.config.id,
      id: this.config.id,
      role: s.role,
      term: s.term,
      leaderId: s.leaderId,
      votedFor: s.vote,
      commitIndex: s.commit,
      lastApplied: host.applied,
      lastLogIndex: s.lastIndex,
      lastLogTerm: s.lastTerm,
      snapshot: st.snapshot ?? { index: 0, term: 0, bytes: 0 },
      wal: { segments: st.wal.segments, bytes: st.wal.bytes, firstIndex: st.wal.firstIndex },
      peers: this.config.peers.map((peer) => {
        const progress = s.progress[peer.id];
        const contactAt = transport.lastContactAt(peer.id);
        return {
          id: peer.id,
          url: peer.url,
          matchIndex: progress?.match ?? 0,
          nextIndex: progress?.next ?? 0,
          lastContactMs: contactAt === null ? null : Math.max(0, nowMs - contactAt),
        };
      }),
      keys: host.stateMachine.keyCount,
      sessions: host.stateMachine.sessionCount,
      uptimeMs: nowMs - this.startedMs,
    };
  }

  isReady(): boolean {
    return this.node?.host.isReady() ?? false;
  }

  takeSnapshot(): Promise<{ index: number; term: number; bytes: number }> {
    return this.running().takeSnapshot();
  }

  async transferLeadership(to?: string): Promise<{ from: string; to: string }> {
    try {
      return await this.running().transferLeadership(to);
    } catch (error) {
      if (error instanceof InvalidTransferTargetError) throw new BadRequestException(`to: ${error.message}`);
      throw error;
    }
  }

  // ---------------- internals ----------------

  private booted(): NonNullable<RaftHostService['node']> {
    if (this.node === null) throw new UnavailableError('unavailable', 'the node is starting');
    return this.node;
  }

  private running(): RaftHost {
    if (this.closing !== null) throw new UnavailableError('unavailable', 'this node is shutting down');
    return this.booted().host;
  }

  private async close(): Promise<void> {
    const node = this.node;
    if (node === null) return;
    const startedMs = Date.now();
    try {
      await node.host.stop();
      await node.receiver.close().catch(() => undefined);
      await node.transport.close();
    } finally {
      await node.storage.close();
    }
    this.logger.log(`event=node_stopped ${kv({ id: this.config.id, applied: node.host.applied, ms: Date.now() - startedMs })}`);
  }

  /** STYLE 6: a failed write or fsync, or a broken invariant, ends the process; recovery is from disk. */
  private fatal(error: unknown): never {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    this.logger.error(`event=fatal ${kv({ error: message })}`);
    process.exit(1);
  }
}
