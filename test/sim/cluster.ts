import { describeMessage } from '../../src/consensus/core/describe.js';
import type { NodeId } from '../../src/consensus/core/messages.js';
import type { Prng } from '../../src/consensus/core/prng.js';
import { SafetyChecker } from './checkers/safety.js';
import { ClientPool, type ClientOptions } from './clients.js';
import type { DurableStore } from './durable-store.js';
import type { DiskFaultTarget, FaultTarget } from './faults.js';
import { HistoryRecorder } from '../../src/history-checks/history.js';
import type { KvStateMachine } from '../../src/history-checks/kv-model.js';
import { SimNetwork, type DropReason, type Envelope } from './network.js';
import { SimNode, type RaftTuning } from './sim-node.js';
import { StorageDurableStore } from './storage-durable-store.js';
import type { DiskFaultKind } from './disk/simulated-disk.js';

/**
 * A whole simulated cluster: nodes, network, clients and the safety checker, advanced one tick
 * at a time by `step`. Within a tick: due messages are delivered, nodes tick (at their own clock
 * rate), clients act, then every node handles its Readies, in an order drawn from the seed, and
 * the safety checker looks at every node.
 */

export interface ClusterOptions {
  readonly nodeIds: readonly NodeId[];
  readonly tuning: RaftTuning;
  readonly snapshotEveryApplied: number;
  readonly clients: ClientOptions;
  readonly newStateMachine: () => KvStateMachine;
  readonly newStore: (id: NodeId) => DurableStore;
  /** Independent generators, so adding draws in one place does not reshuffle the others. */
  readonly random: { network: Prng; clients: Prng; schedule: Prng; cores: Prng };
  readonly trace: ((line: string) => void) | null;
}

/**
 * Starts of one restart before it is a failure: each injected disk fault fails at most one start
 * (a read, write and fsync error and a power failure may all be armed), so 8 is plenty.
 */
const RESTART_ATTEMPTS_MAX = 8;

export class SimCluster implements FaultTarget, DiskFaultTarget {
  readonly nodeIds: readonly NodeId[];
  readonly network: SimNetwork;
  readonly safety = new SafetyChecker();
  readonly history = new HistoryRecorder();
  readonly clients: ClientPool;
  readonly stats = { snapshotsSent: 0, snapshotsDelivered: 0, diskFailures: 0, powerLosses: 0, corruptionsDetected: 0 };
  /** Nodes whose disk recovery refused to start (detected corruption): down for good. */
  readonly retired = new Set<NodeId>();
  /** Problems with how a node's storage behaved (a corruption recovery missed or reported badly). */
  readonly storageViolations: string[] = [];
  /** Bit flips injected and not yet detected: node -> the damaged file. */
  private readonly flippedFiles = new Map<NodeId, string>();
  private readonly nodes = new Map<NodeId, SimNode>();
  /** InstallSnapshots dropped when sent, whose failure the sender has yet to hear of. */
  private snapshotFailures: Envelope[] = [];
  /** Told of every election as it happens (the fault scheduler aims some crashes at new leaders). */
  onLeaderElected: ((id: NodeId, now: number) => void) | null = null;
  /** Told when a node's disk failed under it and it crashed (the fault scheduler restarts it). */
  onNodeFailed: ((id: NodeId, now: number) => void) | null = null;
  private now = 0;

  constructor(private readonly options: ClusterOptions) {
    this.nodeIds = options.nodeIds;
    this.network = new SimNetwork(options.random.network);
    const config = { voters: [...options.nodeIds] };
    for (const id of options.nodeIds) {
      const node: SimNode = new SimNode({
        id,
        config,
        tuning: options.tuning,
        store: options.newStore(id),
        newStateMachine: options.newStateMachine,
        snapshotEveryApplied: options.snapshotEveryApplied,
        forkRandom: () => options.random.cores.fork(),
        send: (envelope) => this.send(envelope),
        observer: {
          persisted: (n, entries, prevTerm, replaced) => this.safety.persisted(n, entries, prevTerm, replaced),
          snapshotAt: (n, meta, data) => this.safety.snapshotAt(n, meta, data),
          roleChanged: (n, role, term) => {
            this.trace(`${n} becomes ${role} in term ${term}`);
            this.safety.roleObserved(n, role, term);
            if (role === 'leader') this.onLeaderElected?.(n, this.now);
          },
          applied: (n, entry, outcome) => {
            this.safety.applied(n, entry);
            this.clients.onApplied(n, entry, outcome);
          },
          readServed: (n, context) => this.clients.onReadServed(n, context),
          hardStateSaved: (n, hardState) => this.safety.hardStateSaved(n, hardState),
          diskFailed: (n, error) => {
            this.stats.diskFailures++;
            this.note(`${n} crashed: its disk failed (${error.message})`);
            this.onNodeFailed?.(n, this.now);
          },
          crashed: (n) => this.clients.onNodeCrashed(n),
        },
        trace: options.trace === null ? null : (line) => this.trace(line),
      });
      this.nodes.set(id, node);
    }
    this.clients = new ClientPool(
      options.clients,
      options.nodeIds,
      (id) => this.node(id),
      options.random.clients,
      this.history,
      options.trace === null ? null : (line) => this.trace(line),
    );
  }

  node(id: NodeId): SimNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  allNodes(): SimNode[] {
    return this.nodeIds.map((id) => this.node(id));
  }

  /** Every node but the retired ones. */
  serviceNodes(): SimNode[] {
    return this.allNodes().filter((node) => !this.retired.has(node.id));
  }

  /** Boots every node from its (empty) store, in id order. */
  async start(): Promise<void> {
    for (const node of this.allNodes()) await node.start();
  }

  /** One simulated tick. `ticksFor` says whether a node's (possibly slow) clock ticks now. */
  async step(now: number, ticksFor: (id: NodeId) => number): Promise<void> {
    this.now = now;
    this.safety.setTick(now);
    this.deliver(now);
    const order = this.options.random.schedule.shuffle([...this.nodeIds]);
    for (const id of order) {
      for (let k = ticksFor(id); k > 0; k--) this.node(id).tick();
    }
    this.clients.tick(now);
    for (const id of order) await this.node(id).processReady();
    this.safety.checkNodes(this.allNodes());
  }

  // ---- FaultTarget ----

  isRunning(id: NodeId): boolean {
    return this.node(id).alive;
  }

  isRetired(id: NodeId): boolean {
    return this.retired.has(id);
  }

  isPaused(id: NodeId): boolean {
    return this.node(id).paused;
  }

  crash(id: NodeId, midReady: boolean): void {
    const node = this.node(id);
    if (midReady) {
      this.note(`${id} will crash inside its next Ready, after persisting`);
      node.crashAfterNextPersist = true;
    } else {
      node.crash();
    }
  }

  /**
   * Restarts a crashed node, running its storage's recovery. A transient read error fails one
   * attempt (a supervisor would start the process again); detected corruption must stop the
   * node for good, naming the damaged file and offset.
   */
  async restart(id: NodeId): Promise<void> {
    const node = this.node(id);
    node.crashAfterNextPersist = false;
    if (node.alive || this.retired.has(id)) return;
    for (let attempt = 1; ; attempt++) {
      try {
        await node.restart();
        break;
      } catch (error) {
        if (!(error instanceof Error)) throw error;
        if (error.name === 'StorageCorruptionError') {
          this.corruptionDetected(id, error);
          return;
        }
        if (attempt >= RESTART_ATTEMPTS_MAX || !['DiskIoError', 'StorageFailedError', 'PowerFailedError'].includes(error.name)) throw error;
        this.note(`${id} failed to start (${error.message}); starting it again`);
      }
    }
    const flipped = this.flippedFiles.get(id);
    if (flipped !== undefined) {
      this.storageViolations.push(`storage: ${id} started after a bit flip in ${flipped} without detecting it`);
      this.flippedFiles.delete(id);
    }
  }

  // ---- disk faults (nodes on a StorageDurableStore) ----

  hasDisks(): boolean {
    return this.allNodes().every((node) => node.store instanceof StorageDurableStore);
  }

  /**
   * The power fails under these nodes. `afterDiskOps` undefined: now (they crash, their disks
   * lose what was not synced). Otherwise a running node keeps going and the power fails after
   * that many more mutating disk operations, in the middle of a save or a snapshot.
   */
  powerLoss(ids: readonly NodeId[], afterDiskOps?: number): void {
    for (const id of ids) {
      const node = this.node(id);
      const store = this.diskStore(id);
      if (afterDiskOps !== undefined && node.alive) {
        this.note(`${id}: the power will fail after ${afterDiskOps} more disk operations`);
        store.disk.powerFailsAfter(afterDiskOps);
        continue;
      }
      this.note(`${id}: power loss`);
      if (node.alive) node.crash();
      store.powerLoss();
      this.stats.powerLosses++;
    }
  }

  diskError(id: NodeId, kind: DiskFaultKind): void {
    this.note(`${id}: the next disk ${kind} fails`);
    this.diskStore(id).disk.injectError(kind);
  }

  /**
   * Flips a bit in the oldest WAL segment of a node when it is cold (not the one being written),
   * then the node loses power: its recovery must find the damage. Returns false if it has no cold segment.
   */
  flipBit(id: NodeId, random: Prng): boolean {
    const store = this.diskStore(id);
    const segments = store.disk.list('/data/wal');
    if (segments.length < 2) return false;
    const offset = store.disk.flipBit(segments[0], random);
    if (offset === null) return false;
    this.note(`${id}: bit flip in ${segments[0]} at byte offset ${offset}`);
    this.flippedFiles.set(id, segments[0]);
    this.powerLoss([id]);
    return true;
  }

  /**
   * Disarms every pending disk fault (end of the fault phase). A node whose power failure already
   * struck, unnoticed so far (e.g. during the WAL's background zero-fill after its last save),
   * loses power now as it would have then; returns those nodes, which must be restarted.
   */
  healDisks(): NodeId[] {
    if (!this.hasDisks()) return [];
    const struck = this.nodeIds.filter((id) => this.diskStore(id).disk.hasPowerFailed);
    this.powerLoss(struck);
    for (const id of this.nodeIds) this.diskStore(id).disk.disarm();
    return struck;
  }

  private corruptionDetected(id: NodeId, error: Error): void {
    this.retired.add(id);
    this.stats.corruptionsDetected++;
    this.note(`${id} refuses to start: ${error.message}; retired`);
    const flipped = this.flippedFiles.get(id);
    this.flippedFiles.delete(id);
    if (flipped === undefined) {
      this.storageViolations.push(`storage: ${id} refuses to start without injected corruption: ${error.message}`);
    } else if (!error.message.includes(flipped) || !/byte offset \d+/.test(error.message)) {
      this.storageViolations.push(`storage: ${id} found the bit flip in ${flipped} but does not name file and offset: ${error.message}`);
    }
  }

  private diskStore(id: NodeId): StorageDurableStore {
    const store = this.node(id).store;
    if (!(store instanceof StorageDurableStore)) throw new Error(`${id} has no simulated disk`);
    return store;
  }

  pause(id: NodeId): void {
    this.note(`${id} paused`);
    this.node(id).paused = true;
  }

  resume(id: NodeId): void {
    const node = this.node(id);
    if (!node.paused) return;
    this.note(`${id} resumed`);
    node.resume();
  }

  leader(): NodeId | null {
    let best: { id: NodeId; term: number } | null = null;
    for (const node of this.allNodes()) {
      const status = node.alive ? node.raft?.status() : undefined;
      if (status?.role === 'leader' && (best === null || status.term > best.term)) best = { id: node.id, term: status.term };
    }
    return best?.id ?? null;
  }

  transferLeadership(to: NodeId | undefined): void {
    const leaderId = this.leader();
    if (leaderId === null) return;
    const node = this.node(leaderId);
    if (node.paused) return;
    const answer = node.raft?.transferLeadership(to);
    this.note(`transfer leadership from ${leaderId} to ${to ?? 'best'}: ${JSON.stringify(answer)}`);
  }

  note(line: string): void {
    this.trace(`FAULT ${line}`);
  }

  // ---- network plumbing ----

  private send(envelope: Envelope): DropReason | null {
    const dropped = this.network.send(envelope, this.now);
    if (envelope.message.type === 'InstallSnapshot') {
      this.stats.snapshotsSent++;
      // A real transport streams a snapshot as a request that fails visibly: the sender always
      // learns the outcome. Here a lost one is reported failed at the start of the next tick.
      if (dropped !== null) this.snapshotFailures.push(envelope);
    }
    this.trace(`send ${describeMessage(envelope.message)}${dropped === null ? '' : ` DROPPED(${dropped})`}`);
    return dropped;
  }

  private deliver(now: number): void {
    const failedSnapshots = this.snapshotFailures;
    this.snapshotFailures = [];
    for (const envelope of failedSnapshots) this.currentSender(envelope)?.reportSnapshot(envelope.message.to, false);
    const { delivered, lost } = this.network.takeDue(now);
    for (const envelope of lost) {
      const { to } = envelope.message;
      this.trace(`lost ${describeMessage(envelope.message)} (partitioned in flight)`);
      const sender = this.currentSender(envelope);
      sender?.reportUnreachable(to);
      if (envelope.message.type === 'InstallSnapshot') sender?.reportSnapshot(to, false);
    }
    for (const envelope of delivered) {
      const { to } = envelope.message;
      const target = this.node(to);
      if (!target.alive) {
        this.trace(`lost ${describeMessage(envelope.message)} (${to} is down)`);
      } else {
        target.receive(envelope);
      }
      if (envelope.message.type === 'InstallSnapshot') {
        if (target.alive) this.stats.snapshotsDelivered++;
        this.currentSender(envelope)?.reportSnapshot(to, target.alive);
      }
    }
  }

  /** The sender of `envelope`, if it is still the same incarnation that sent it. */
  private currentSender(envelope: Envelope): SimNode | null {
    const sender = this.node(envelope.message.from);
    return sender.alive && sender.incarnation === envelope.senderIncarnation ? sender : null;
  }

  private trace(line: string): void {
    this.options.trace?.(`t=${this.now} ${line}`);
  }
}
