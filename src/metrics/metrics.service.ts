/**
 * The node's Prometheus metrics (prom-client), one registry per Nest application so that two
 * nodes in one process (tests) never share or clash. Counters and histograms are fed by the
 * consensus host and the HTTP layer through the methods below; gauges (term, role, indexes)
 * are read from `KvNode.status()` when scraped (see `render`), so there is nothing to keep in
 * step between scrapes.
 */
import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { NodeStatus } from '../consensus/kv-node.port.js';
import type { Role } from '../consensus/core/ready.js';

const ROLES: readonly Role[] = ['follower', 'pre-candidate', 'candidate', 'leader'];

/** fsync on SSDs takes tens of microseconds to milliseconds; a slow disk, tens of milliseconds. */
const FSYNC_SECONDS_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
/** Group commit: how many entries one fsync made durable. */
const ENTRIES_PER_FSYNC_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];
/** Client requests: sub-millisecond stale reads up to the 5 s request timeout and beyond. */
const REQUEST_SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Bounds the number of request-latency series kept per label set (routes are patterns, so few). */
const REQUEST_SERIES_MAX = 1000;

export type ProposalOutcome = 'committed' | 'failed';
/** A peer request (batch of Raft messages) this node sent, or received. */
export type PeerDirection = 'sent' | 'received';
export type SnapshotKind = 'taken' | 'sent' | 'installed';

@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  private readonly fsyncSeconds = new Histogram({
    name: 'raft_fsync_seconds',
    help: 'Duration of one WAL fsync (group commit), in seconds',
    buckets: FSYNC_SECONDS_BUCKETS,
    registers: [this.registry],
  });
  private readonly entriesPerFsync = new Histogram({
    name: 'raft_entries_per_fsync',
    help: 'Log entries made durable by one fsync',
    buckets: ENTRIES_PER_FSYNC_BUCKETS,
    registers: [this.registry],
  });
  private readonly proposals = new Counter({
    name: 'raft_proposals_total',
    help: 'Client writes proposed by this node as leader, by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly requestSeconds = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency, by route pattern, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: REQUEST_SECONDS_BUCKETS,
    registers: [this.registry],
  });
  private readonly snapshots = new Counter({
    name: 'raft_snapshots_total',
    help: 'Snapshots taken locally, sent to followers, or installed from the leader',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  /** Per peer request: the exact AppendEntries count and entries carried (batches are merged, so not derivable from requests). */
  private readonly peerBatches = new Counter({
    name: 'raft_peer_batches_total',
    help: 'Peer requests carrying Raft messages (one request may carry several messages), sent or received',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });
  private readonly appendEntriesMessages = new Counter({
    name: 'raft_append_entries_messages_total',
    help: 'AppendEntries messages sent to or received from peers (entry-less ones included)',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });
  private readonly appendEntriesEntries = new Counter({
    name: 'raft_append_entries_entries_total',
    help: 'Log entries carried by the AppendEntries messages sent or received',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });
  private readonly leaderChanges = new Counter({
    name: 'raft_leader_changes_total',
    help: 'Times this node saw the leader change (including to none)',
    registers: [this.registry],
  });

  private readonly term = this.gauge('raft_term', 'Current Raft term');
  private readonly role = new Gauge({
    name: 'raft_role',
    help: 'This node\'s role: 1 on the current role\'s series, 0 on the others',
    labelNames: ['role'] as const,
    registers: [this.registry],
  });
  private readonly isLeader = this.gauge('raft_is_leader', '1 if this node is the leader, else 0');
  private readonly commitIndex = this.gauge('raft_commit_index', 'Highest log index known committed');
  private readonly appliedIndex = this.gauge('raft_applied_index', 'Highest log index applied to the state machine');
  private readonly lastLogIndex = this.gauge('raft_last_log_index', 'Index of the last entry in this node\'s log');
  private readonly snapshotIndex = this.gauge('raft_snapshot_index', 'Index of the latest snapshot');
  private readonly walSegments = this.gauge('raft_wal_segments', 'WAL segment files');
  private readonly walBytes = this.gauge('raft_wal_bytes', 'Bytes of WAL records (segment files also hold zeros written ahead of the records)');
  private readonly keys = this.gauge('kv_keys', 'Keys in the state machine');
  private readonly sessions = this.gauge('kv_sessions', 'Client sessions in the state machine');

  /** Labelled children, cached: prom-client hashes the label set on every `labels()` call. */
  private readonly requestSeries = new Map<string, ReturnType<Histogram<'route' | 'method' | 'status'>['labels']>>();
  private readonly committed = this.proposals.labels('committed');
  private readonly failed = this.proposals.labels('failed');

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    for (const r of ROLES) this.role.labels(r).set(0);
    // Zero series from the start, so a scrape before any traffic already shows them.
    for (const direction of ['sent', 'received'] as const) {
      this.peerBatches.labels(direction).inc(0);
      this.appendEntriesMessages.labels(direction).inc(0);
      this.appendEntriesEntries.labels(direction).inc(0);
    }
  }

  observeFsyncSeconds(s: number): void {
    this.fsyncSeconds.observe(s);
  }

  observeEntriesPerFsync(n: number): void {
    this.entriesPerFsync.observe(n);
  }

  incProposals(outcome: ProposalOutcome): void {
    (outcome === 'committed' ? this.committed : this.failed).inc();
  }

  /** `route` must be a route pattern (`/kv/:key`), never a concrete path: it is a label. */
  observeRequestSeconds(route: string, method: string, status: number, s: number): void {
    const id = `${method} ${route} ${status}`;
    let series = this.requestSeries.get(id);
    if (series === undefined) {
      if (this.requestSeries.size >= REQUEST_SERIES_MAX) return;
      series = this.requestSeconds.labels(route, method, String(status));
      this.requestSeries.set(id, series);
    }
    series.observe(s);
  }

  incSnapshots(kind: SnapshotKind): void {
    this.snapshots.labels(kind).inc();
  }

  /** One peer request of `direction` carrying `appendEntries` AppendEntries messages with `entries` entries in all. */
  observePeerBatch(direction: PeerDirection, appendEntries: number, entries: number): void {
    this.peerBatches.labels(direction).inc();
    if (appendEntries > 0) this.appendEntriesMessages.labels(direction).inc(appendEntries);
    if (entries > 0) this.appendEntriesEntries.labels(direction).inc(entries);
  }

  incLeaderChanges(): void {
    this.leaderChanges.inc();
  }

  /** The Prometheus text exposition, with the gauges set from `status` (null: node not up yet). */
  async render(status: NodeStatus | null): Promise<string> {
    if (status !== null) this.setGauges(status);
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private setGauges(status: NodeStatus): void {
    this.term.set(status.term);
    for (const r of ROLES) this.role.labels(r).set(r === status.role ? 1 : 0);
    this.isLeader.set(status.role === 'leader' ? 1 : 0);
    this.commitIndex.set(status.commitIndex);
    this.appliedIndex.set(status.lastApplied);
    this.lastLogIndex.set(status.lastLogIndex);
    this.snapshotIndex.set(status.snapshot.index);
    this.walSegments.set(status.wal.segments);
    this.walBytes.set(status.wal.bytes);
    this.keys.set(status.keys);
    this.sessions.set(status.sessions);
  }

  private gauge(name: string, help: string): Gauge {
    return new Gauge({ name, help, registers: [this.registry] });
  }
}
