/**
 * RaftHosts wired to fakes, for tests of the host loop without the Nest container or real I/O:
 * an in-memory storage whose saves can be held (to observe what happens before a save is
 * durable) or failed, a transport that queues messages until the test delivers them, a manual
 * clock, and a shared event log recording saves and sends in the order they happened.
 */
import type { Entry, HardState, InstallSnapshot, Message, NodeId, SnapshotMeta } from '../../../src/consensus/core/messages.js';
import { Prng } from '../../../src/consensus/core/prng.js';
import { Raft } from '../../../src/consensus/core/raft.js';
import type { Clock, HostLog, HostMetrics, HostSnapshotStore, HostStorage, HostTransport } from '../../../src/consensus/host-ports.js';
import { RaftHost, type RaftHostOptions } from '../../../src/consensus/raft-host.js';
import { KvStateMachine } from '../../../src/kv/kv-state-machine.js';
import type { StorageStatus, StorageUpdate } from '../../../src/storage/raft-storage.js';
import type { SnapshotInfo, SnapshotWriter } from '../../../src/storage/snapshot-store.js';

export class ManualClock implements Clock {
  constructor(public ms = 1_700_000_000_000) {}
  now(): number {
    return this.ms;
  }
}

export const silentLog: HostLog = { log: () => undefined, warn: () => undefined, error: () => undefined };

export class CountingMetrics implements HostMetrics {
  readonly counts = new Map<string, number>();
  private inc(name: string): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  }
  observeFsyncSeconds(): void {
    this.inc('fsync');
  }
  observeEntriesPerFsync(): void {
    this.inc('entriesPerFsync');
  }
  incProposals(outcome: 'committed' | 'failed'): void {
    this.inc(`proposals_${outcome}`);
  }
  incSnapshots(kind: 'taken' | 'sent' | 'installed'): void {
    this.inc(`snapshots_${kind}`);
  }
  incLeaderChanges(): void {
    this.inc('leaderChanges');
  }
  get(name: string): number {
    return this.counts.get(name) ?? 0;
  }
}

export class MemorySnapshotStore implements HostSnapshotStore {
  private readonly stored = new Map<string, { info: SnapshotInfo; data: Uint8Array }>();

  latest(): SnapshotInfo | null {
    return this.list()[0] ?? null;
  }
  list(): readonly SnapshotInfo[] {
    return [...this.stored.values()].map((s) => s.info).sort((a, b) => b.meta.index - a.meta.index);
  }
  find(meta: Pick<SnapshotMeta, 'index' | 'term'>): SnapshotInfo | null {
    return this.stored.get(`${meta.term}-${meta.index}`)?.info ?? null;
  }
  data(meta: Pick<SnapshotMeta, 'index' | 'term'>): Uint8Array | null {
    return this.stored.get(`${meta.term}-${meta.index}`)?.data ?? null;
  }
  put(meta: SnapshotMeta, data: Uint8Array): SnapshotInfo {
    const info: SnapshotInfo = { meta, path: `mem:${meta.term}-${meta.index}`, dataBytes: data.byteLength };
    this.stored.set(`${meta.term}-${meta.index}`, { info, data });
    // Keep the two newest, as the real store does.
    for (const old of this.list().slice(2)) this.stored.delete(`${old.meta.term}-${old.meta.index}`);
    return info;
  }
  async beginWrite(meta: SnapshotMeta): Promise<SnapshotWriter> {
    const chunks: Uint8Array[] = [];
    return {
      meta,
      write: async (chunk) => {
        chunks.push(Uint8Array.from(chunk));
      },
      commit: async () => this.put(meta, Buffer.concat(chunks)),
      abort: async () => undefined,
    };
  }
  async *openRead(meta: Pick<SnapshotMeta, 'index' | 'term'>, chunkBytes = 1024): AsyncGenerator<Uint8Array> {
    const data = this.data(meta);
    if (data === null) throw new Error(`no snapshot ${meta.term}-${meta.index}`);
    for (let at = 0; at < data.byteLength; at += chunkBytes) yield data.subarray(at, at + chunkBytes);
  }
}

interface HeldSave {
  readonly update: StorageUpdate;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** The RaftStorage subset in memory. `durable*` reflect only saves that resolved. */
export class FakeStorage implements HostStorage {
  readonly snapshots = new MemorySnapshotStore();
  durableEntries: Entry[] = [];
  durableHardState: HardState = { term: 0, vote: null, commit: 0 };
  durableSnapshot: SnapshotMeta | null = null;
  compactedTo = 0;
  saves = 0;
  /** While true, saves wait until release(); `failNext` makes the next save fail. */
  hold = false;
  failNext: Error | null = null;
  private held: HeldSave[] = [];

  constructor(
    private readonly id: NodeId,
    private readonly events: string[],
  ) {}

  get durableLastIndex(): number {
    return this.durableEntries.at(-1)?.index ?? this.durableSnapshot?.index ?? 0;
  }

  save(update: StorageUpdate): Promise<void> {
    this.saves++;
    this.events.push(`${this.id} save-start entries=${update.entries.length}${update.hardState ? ` hard=t${update.hardState.term}` : ''}`);
    if (this.failNext !== null) {
      const error = this.failNext;
      this.failNext = null;
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      const held = { update, resolve, reject };
      if (this.hold) this.held.push(held);
      else this.complete(held);
    });
  }

  /** Makes the held saves durable, in order. */
  release(): void {
    this.hold = false;
    const held = this.held;
    this.held = [];
    for (const h of held) this.complete(h);
  }

  get heldSaves(): number {
    return this.held.length;
  }

  async compact(meta: SnapshotMeta): Promise<void> {
    this.compactedTo = Math.max(this.compactedTo, meta.index);
  }

  status(): StorageStatus {
    const latest = this.snapshots.latest();
    return {
      wal: { segments: 1, bytes: 0, firstIndex: this.durableEntries[0]?.index ?? 1, lastIndex: this.durableLastIndex },
      snapshot: latest === null ? null : { index: latest.meta.index, term: latest.meta.term, bytes: latest.dataBytes },
    };
  }

  async close(): Promise<void> {}

  private complete(held: HeldSave): void {
    const { update } = held;
    if (update.snapshot !== undefined) {
      this.durableSnapshot = update.snapshot;
      this.durableEntries = [];
    }
    if (update.entries.length > 0) {
      const first = (update.entries[0] as Entry).index;
      this.durableEntries = this.durableEntries.filter((e) => e.index < first).concat(update.entries);
    }
    if (update.hardState !== undefined) this.durableHardState = update.hardState;
    this.events.push(`${this.id} save-done last=${this.durableLastIndex}`);
    held.resolve();
  }
}

export class QueueTransport implements HostTransport {
  constructor(
    private readonly id: NodeId,
    private readonly cluster: HostCluster,
  ) {}
  send(messages: readonly Message[]): void {
    for (const m of messages) {
      this.cluster.events.push(`${this.id} send ${m.type}->${m.to}`);
      this.cluster.onSend(m);
    }
  }
  lastContactAt(): number | null {
    return null;
  }
  async close(): Promise<void> {}
}

export interface TestNode {
  readonly id: NodeId;
  readonly host: RaftHost;
  readonly storage: FakeStorage;
  readonly metrics: CountingMetrics;
  readonly fatal: unknown[];
}

export const TEST_HOST_OPTIONS: Omit<RaftHostOptions, 'nodeId' | 'memberUrl'> = {
  requestTimeoutMs: 5_000,
  pendingProposalsMax: 100,
  pendingReadsMax: 100,
  snapshotEntries: 1_000_000,
  snapshotChunkBytes: 64,
  sessionLimits: { sessionTtlMs: 60_000, sessionsMax: 1000 },
  sessionHousekeepingMs: 60_000,
  commitPersistIntervalMs: 1_000,
  transferTimeoutMs: 1_000,
};

/**
 * Hosts for `ids`, each with its own fake storage; messages wait in `inFlight` until deliver().
 * Each host's loop runs on setImmediate, so `settle()` alternates delivery and awaiting idleness.
 */
export class HostCluster {
  readonly events: string[] = [];
  readonly clock = new ManualClock();
  readonly nodes = new Map<NodeId, TestNode>();
  inFlight: Message[] = [];
  /** Messages to or from these nodes are dropped. */
  readonly isolated = new Set<NodeId>();
  /** Called for each message sent, before it is queued (assertions about send-time state). */
  onSendCheck: ((m: Message) => void) | null = null;

  constructor(
    readonly ids: readonly NodeId[],
    options: Partial<RaftHostOptions> = {},
  ) {
    for (const [k, id] of ids.entries()) this.nodes.set(id, this.makeNode(id, k + 1, options));
  }

  node(id: NodeId): TestNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  onSend(m: Message): void {
    this.onSendCheck?.(m);
    this.inFlight.push(m);
  }

  /** Delivers the messages in flight (dropping those of isolated nodes), as the real transport would. */
  deliver(): number {
    const batch = this.inFlight;
    this.inFlight = [];
    for (const m of batch) {
      if (this.isolated.has(m.from) || this.isolated.has(m.to)) continue;
      const to = this.nodes.get(m.to);
      if (to === undefined) continue;
      if (m.type === 'InstallSnapshot') this.shipSnapshot(m, to);
      else to.host.step(m);
    }
    return batch.length;
  }

  /**
   * Runs every loop and delivers every message until nothing moves. A node whose storage holds
   * its saves cannot finish its Ready: it is let run, not waited for.
   */
  async settle(maxRounds = 200): Promise<void> {
    for (let round = 0; round < maxRounds; round++) {
      const running = [...this.nodes.values()].filter((n) => !n.storage.hold);
      await Promise.all(running.map((n) => n.host.whenIdle()));
      for (let k = 0; k < 3; k++) await new Promise((resolve) => setImmediate(resolve));
      if (this.inFlight.length === 0 && running.every((n) => !n.host.raft.hasReady())) return;
      this.deliver();
    }
    throw new Error('cluster did not settle');
  }

  /** Ticks `id` until it leads (it campaigns at its election timeout), settling as it goes. */
  async elect(id: NodeId, maxTicks = 200): Promise<void> {
    const node = this.node(id);
    for (let t = 0; t < maxTicks && node.host.raft.role !== 'leader'; t++) {
      node.host.tick();
      await this.settle();
    }
    if (node.host.raft.role !== 'leader') throw new Error(`${id} did not become leader`);
    await this.settle();
  }

  /**
   * Ticks `ids` (not the others) until one of them leads; returns it. Followers that still hear
   * from a leader refuse votes (leader lease, thesis 9.6), so the voters must be ticked too.
   */
  async electAmong(ids: readonly NodeId[], maxTicks = 200): Promise<NodeId> {
    for (let t = 0; t < maxTicks; t++) {
      const leader = ids.find((id) => this.node(id).host.raft.role === 'leader');
      if (leader !== undefined) {
        await this.settle();
        return leader;
      }
      for (const id of ids) this.node(id).host.tick();
      await this.settle();
    }
    throw new Error(`none of ${ids.join(', ')} became leader`);
  }

  /** Ticks every node once (the leader heartbeats every tick in this configuration). */
  async tickAll(): Promise<void> {
    for (const node of this.nodes.values()) node.host.tick();
    await this.settle();
  }

  private shipSnapshot(m: InstallSnapshot, to: TestNode): void {
    const from = this.node(m.from);
    const data = from.storage.snapshots.data(m.snapshot);
    if (data === null) {
      from.host.reportSnapshot(m.to, false);
      return;
    }
    // What SnapshotReceiver does: the file is in the store before the core hears of it.
    to.storage.snapshots.put(m.snapshot, data);
    to.host.step(m);
    from.host.reportSnapshot(m.to, true);
  }

  private makeNode(id: NodeId, seed: number, options: Partial<RaftHostOptions>): TestNode {
    const storage = new FakeStorage(id, this.events);
    const metrics = new CountingMetrics();
    const fatal: unknown[] = [];
    const raft = new Raft({
      id,
      config: { voters: [...this.ids] },
      heartbeatTicks: 1,
      electionTicksMin: 10,
      electionTicksMax: 20,
      random: new Prng(seed),
    });
    const host = new RaftHost(
      { ...TEST_HOST_OPTIONS, ...options, nodeId: id, memberUrl: (m) => `http://${m}.test` },
      {
        raft,
        storage,
        transport: new QueueTransport(id, this),
        stateMachine: new KvStateMachine(),
        clock: this.clock,
        metrics,
        log: silentLog,
        durableHardState: storage.durableHardState,
        restoredSnapshot: null,
        fatal: (error) => fatal.push(error),
      },
    );
    return { id, host, storage, metrics, fatal };
  }
}

/** Settles `promise` for inspection without awaiting it: 'pending' until it does. */
export function track<T>(promise: Promise<T>): { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } {
  const tracked: { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } = { state: 'pending' };
  promise.then(
    (value) => {
      tracked.state = 'resolved';
      tracked.value = value;
    },
    (error: unknown) => {
      tracked.state = 'rejected';
      tracked.error = error;
    },
  );
  return tracked;
}
