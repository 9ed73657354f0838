import { describeMessage, describeReady } from '../../src/consensus/core/describe.js';
import type { ClusterConfig, Entry, HardState, Message, NodeId, SnapshotMeta } from '../../src/consensus/core/messages.js';
import type { Prng } from '../../src/consensus/core/prng.js';
import { Raft, type ProposeResult, type RaftOptions, type ReadIndexResult } from '../../src/consensus/core/raft.js';
import type { ReadState, Ready, Role } from '../../src/consensus/core/ready.js';
import type { DurableStore } from './durable-store.js';
import type { KvApplyOutcome, KvStateMachine } from '../../src/history-checks/kv-model.js';
import type { DropReason, Envelope } from './network.js';

/**
 * A host around one real Raft core, as the production host will be, minus real I/O: it follows
 * the Ready order exactly (persist -> send -> apply -> serve reads -> advance), keeps what it
 * persisted in a DurableStore, and takes snapshots every `snapshotEveryApplied` entries.
 *
 * A crash throws away the core, the state machine and everything else not in the store; a
 * restart rebuilds the core from the store (`restore`) and the state machine from the stored
 * snapshot, and the core hands the committed entries after it out again to be re-applied.
 */

/** Raft tuning passed through to every core (timeouts in ticks). */
export type RaftTuning = Omit<RaftOptions, 'id' | 'config' | 'random' | 'restore' | 'applied'>;

/** What the node tells the checkers and the clients. */
export interface NodeObserver {
  /**
   * `entries` were just made durable; `prevTerm` is the term the log holds just before them and
   * `replaced` the entries they truncated (the former suffix from entries[0].index).
   */
  persisted(node: NodeId, entries: readonly Entry[], prevTerm: number | undefined, replaced: readonly Entry[]): void;
  /** The node took, received or restarted from the snapshot `meta` holding `data`. */
  snapshotAt(node: NodeId, meta: SnapshotMeta, data: Uint8Array): void;
  /** The node's core took a new role (from Ready.softState), in `term`. */
  roleChanged(node: NodeId, role: Role, term: number): void;
  /** The node lost all volatile state: nothing it was asked will be answered. */
  crashed(node: NodeId): void;
  /** `hardState` was made durable (a vote is durable before it is granted). */
  hardStateSaved(node: NodeId, hardState: HardState): void;
  /** The node's disk failed under it (an I/O error or the power): it crashed, and must be restarted. */
  diskFailed(node: NodeId, error: Error): void;
  /** `entry` was applied; `outcome` is the state machine's answer for a command entry. */
  applied(node: NodeId, entry: Entry, outcome: KvApplyOutcome | undefined): void;
  /** The read `context` may now be answered from this node's state machine. */
  readServed(node: NodeId, context: string): void;
}

export interface SimNodeOptions {
  readonly id: NodeId;
  readonly config: ClusterConfig;
  readonly tuning: RaftTuning;
  readonly store: DurableStore;
  readonly newStateMachine: () => KvStateMachine;
  /** Take a snapshot and compact once this many entries were applied since the last one. */
  readonly snapshotEveryApplied: number;
  /** Gives each incarnation of the core its own seeded generator. */
  readonly forkRandom: () => Prng;
  /** Puts a message on the wire; returns why it was dropped at once, if it was. */
  readonly send: (envelope: Envelope) => DropReason | null;
  readonly observer: NodeObserver;
  readonly trace: ((line: string) => void) | null;
}

interface Running {
  readonly raft: Raft;
  readonly stateMachine: KvStateMachine;
  applied: number;
  appliedTerm: number;
  /** ReadStates released by the core, waiting for applied >= their index (Ready step 4). */
  pendingReads: ReadState[];
  /** Snapshot bytes that arrived with InstallSnapshot messages, by `index@term`. */
  incomingSnapshots: Map<string, Uint8Array>;
  /** Peers a send failed to at once, reported to the core after advance(). */
  unreachable: Set<NodeId>;
}

export class SimNode {
  readonly id: NodeId;
  /** Bumped at every restart, so transport feedback meant for an earlier life is discarded. */
  incarnation = 0;
  /** A paused node (a long GC or VM stall) neither ticks nor handles messages; its inbox waits. */
  paused = false;
  /** Fault injection: crash right after the next Ready's persist step, before it sends or applies. */
  crashAfterNextPersist = false;
  private running: Running | null = null;
  private inbox: Envelope[] = [];

  /** Starts crashed: `start()` loads the store (recovery may be asynchronous). */
  constructor(private readonly options: SimNodeOptions) {
    this.id = options.id;
  }

  get alive(): boolean {
    return this.running !== null;
  }

  /** The core, or null while crashed. For checkers: read-only use. */
  get raft(): Raft | null {
    return this.running?.raft ?? null;
  }

  get applied(): number {
    return this.running?.applied ?? 0;
  }

  get store(): DurableStore {
    return this.options.store;
  }

  /** What the safety checker reads between steps; null while crashed. */
  safetyStatus(): { role: Role; term: number; commit: number; settled: boolean; hostApplied: number } | null {
    if (this.running === null) return null;
    const { role, term, commit } = this.running.raft.status();
    return { role, term, commit, settled: !this.running.raft.hasReady(), hostApplied: this.running.applied };
  }

  /** A consistent (linearizable only after readServed) read of the local state machine. */
  read(key: string): string | null {
    if (this.running === null) throw new Error(`${this.id}: read while crashed`);
    return this.running.stateMachine.read(key);
  }

  stateMachineImage(): Uint8Array {
    if (this.running === null) throw new Error(`${this.id}: image while crashed`);
    return this.running.stateMachine.snapshot();
  }

  crash(): void {
    this.trace('CRASH');
    this.running = null;
    this.options.observer.crashed(this.id);
    this.inbox = [];
    this.paused = false;
    this.crashAfterNextPersist = false;
  }

  /** Rebuilds the node from its store; rejects (the node stays down) if recovery fails. */
  async restart(): Promise<void> {
    if (this.running !== null) throw new Error(`${this.id}: restart while running`);
    this.incarnation++;
    await this.start();
  }

  tick(): void {
    if (this.running === null || this.paused) return;
    this.running.raft.tick();
  }

  /** Delivers a message; a paused node queues it, a crashed one loses it. */
  receive(envelope: Envelope): void {
    if (this.running === null) return;
    if (this.paused) {
      this.inbox.push(envelope);
      return;
    }
    this.step(this.running, envelope);
  }

  resume(): void {
    this.paused = false;
    const queued = this.inbox;
    this.inbox = [];
    for (const envelope of queued) this.receive(envelope);
  }

  /** A client request; null when the node cannot answer at all (crashed or paused: the client times out). */
  propose(data: Uint8Array): ProposeResult | null {
    if (this.running === null || this.paused) return null;
    return this.running.raft.propose(data);
  }

  readIndex(context: string): ReadIndexResult | null {
    if (this.running === null || this.paused) return null;
    return this.running.raft.readIndex(context);
  }

  /** Transport feedback on an InstallSnapshot this node sent. */
  reportSnapshot(to: NodeId, ok: boolean): void {
    if (this.running === null) return;
    this.running.raft.reportSnapshot(to, ok);
  }

  reportUnreachable(to: NodeId): void {
    if (this.running === null) return;
    this.running.raft.reportUnreachable(to);
  }

  /** Handles every Ready the core has, in the order ready.ts prescribes. */
  async processReady(): Promise<void> {
    while (this.running !== null && !this.paused && this.running.raft.hasReady()) {
      await this.handleReady(this.running, this.running.raft.ready());
    }
    // Every snapshot the core accepted was in one of those Readies; the rest it refused.
    if (this.running !== null && !this.paused) this.running.incomingSnapshots.clear();
  }

  async start(): Promise<void> {
    if (this.running !== null) throw new Error(`${this.id}: start while running`);
    const { store, tuning, config, id } = this.options;
    const persisted = await store.load();
    const stateMachine = this.options.newStateMachine();
    const snapshot = persisted.snapshot;
    if (snapshot !== undefined) {
      stateMachine.restore(snapshot.data);
      this.options.observer.snapshotAt(id, snapshot.meta, snapshot.data);
    }
    const applied = snapshot?.meta.index ?? 0;
    const raft = new Raft({
      ...tuning,
      id,
      config,
      random: this.options.forkRandom(),
      restore: { hardState: persisted.hardState, snapshot: snapshot?.meta, entries: persisted.entries },
      applied,
    });
    this.running = {
      raft,
      stateMachine,
      applied,
      appliedTerm: snapshot?.meta.term ?? 0,
      pendingReads: [],
      incomingSnapshots: new Map(),
      unreachable: new Set(),
    };
    this.trace(`START incarnation=${this.incarnation} ${describePersisted(persisted.hardState, snapshot?.meta, persisted.entries)}`);
  }

  private step(running: Running, envelope: Envelope): void {
    const message = envelope.message;
    this.trace(`recv ${describeMessage(message)}`);
    if (message.type === 'InstallSnapshot') {
      if (envelope.snapshotData === undefined) throw new Error(`${this.id}: InstallSnapshot without data`);
      // Kept until this round of Readies is handled: a duplicated or reordered older snapshot
      // may arrive after the one the core accepted, and must not evict its bytes.
      running.incomingSnapshots.set(snapshotKey(message.snapshot), envelope.snapshotData);
    }
    running.raft.step(message);
  }

  private async handleReady(running: Running, ready: Ready): Promise<void> {
    const { observer } = this.options;
    this.trace(`ready ${describeReady(ready)}`);
    if (ready.softState !== undefined) {
      observer.roleChanged(this.id, ready.softState.role, ready.hardState?.term ?? running.raft.status().term);
    }

    // 1. Persist: snapshot, then entries, then hard state. A disk that fails here crashes the
    // node before it says anything (STYLE 6): nothing of this Ready is sent or applied.
    let snapshotData: Uint8Array | undefined;
    try {
      snapshotData = await this.persist(running, ready);
    } catch (error) {
      this.crashOnDiskFailure(error);
      return;
    }
    if (this.running !== running) return;
    if (this.crashAfterNextPersist) {
      this.crash();
      return;
    }

    // 2. Send.
    for (const message of ready.messages) this.send(running, message);

    // 3. Apply: the snapshot first, then the committed entries in order.
    if (ready.snapshot !== undefined && snapshotData !== undefined) {
      running.stateMachine.restore(snapshotData);
      running.applied = ready.snapshot.index;
      running.appliedTerm = ready.snapshot.term;
      observer.snapshotAt(this.id, ready.snapshot, snapshotData);
    }
    for (const entry of ready.committedEntries) {
      if (entry.index !== running.applied + 1) {
        throw new Error(`${this.id}: applying ${entry.index} after ${running.applied}: committed entries skip or repeat`);
      }
      const outcome = entry.type === 'command' ? running.stateMachine.apply(entry.data) : undefined;
      running.applied = entry.index;
      running.appliedTerm = entry.term;
      observer.applied(this.id, entry, outcome);
    }

    // 4. Serve the reads whose index is applied, in the order the core released them.
    running.pendingReads.push(...ready.readStates);
    const stillWaiting: ReadState[] = [];
    for (const read of running.pendingReads) {
      if (read.index <= running.applied) observer.readServed(this.id, read.context);
      else stillWaiting.push(read);
    }
    running.pendingReads = stillWaiting;

    // 5. Advance, then what must follow it.
    running.raft.advance(ready);
    const unreachable = [...running.unreachable];
    running.unreachable.clear();
    for (const peer of unreachable) running.raft.reportUnreachable(peer);
    try {
      await this.maybeSnapshot(running);
    } catch (error) {
      this.crashOnDiskFailure(error);
    }
  }

  /** A failed write or fsync is fatal (STYLE 6): crash, and recover from disk at the restart. Other errors are bugs. */
  private crashOnDiskFailure(error: unknown): void {
    if (!isDiskFailure(error)) throw error;
    this.trace(`DISK FAILED ${error.message}`);
    this.crash();
    this.options.observer.diskFailed(this.id, error);
  }

  /** Step 1 of a Ready; returns the bytes of the snapshot it installed, if any. */
  private async persist(running: Running, ready: Ready): Promise<Uint8Array | undefined> {
    const { store, observer } = this.options;
    let snapshotData: Uint8Array | undefined;
    if (ready.snapshot !== undefined) {
      snapshotData = running.incomingSnapshots.get(snapshotKey(ready.snapshot));
      if (snapshotData === undefined) throw new Error(`${this.id}: Ready names snapshot ${snapshotKey(ready.snapshot)} that never arrived`);
      await store.installSnapshot({ meta: ready.snapshot, data: snapshotData });
    }
    if (ready.entries.length > 0) {
      const first = ready.entries[0].index;
      const prevTerm = store.term(first - 1);
      const replaced: Entry[] = [];
      for (let index = first; index <= store.lastIndex(); index++) replaced.push(store.entry(index) as Entry);
      await store.appendEntries(ready.entries);
      observer.persisted(this.id, ready.entries, prevTerm, replaced);
    }
    if (ready.hardState !== undefined) {
      await store.saveHardState(ready.hardState);
      observer.hardStateSaved(this.id, ready.hardState);
    }
    return snapshotData;
  }

  private send(running: Running, message: Message): void {
    let snapshotData: Uint8Array | undefined;
    if (message.type === 'InstallSnapshot') {
      const stored = this.options.store.snapshot();
      if (stored === undefined || snapshotKey(stored.meta) !== snapshotKey(message.snapshot)) {
        throw new Error(`${this.id}: core sends snapshot ${snapshotKey(message.snapshot)} the host does not hold`);
      }
      snapshotData = stored.data;
    }
    const dropped = this.options.send({ message, snapshotData, senderIncarnation: this.incarnation });
    if (dropped === 'partition') running.unreachable.add(message.to);
  }

  private async maybeSnapshot(running: Running): Promise<void> {
    const { store, config, snapshotEveryApplied } = this.options;
    const lastSnapshotIndex = store.snapshot()?.meta.index ?? 0;
    if (running.applied - lastSnapshotIndex < snapshotEveryApplied) return;
    const meta: SnapshotMeta = { index: running.applied, term: running.appliedTerm, config };
    const data = running.stateMachine.snapshot();
    await store.compact({ meta, data });
    if (this.running !== running) return;
    running.raft.compact(meta);
    this.options.observer.snapshotAt(this.id, meta, data);
    this.trace(`took snapshot ${snapshotKey(meta)}`);
  }

  private trace(line: string): void {
    this.options.trace?.(`${this.id} ${line}`);
  }
}

/**
 * An error a failing disk raises through the storage layer (by name, so this file needs no
 * storage import): the node crashes and recovers from disk. Anything else is a bug and propagates.
 */
export function isDiskFailure(error: unknown): error is Error {
  return error instanceof Error && ['StorageFailedError', 'DiskIoError', 'PowerFailedError'].includes(error.name);
}

function snapshotKey(meta: SnapshotMeta): string {
  return `${meta.index}@${meta.term}`;
}

function describePersisted(
  hardState: { term: number; vote: NodeId | null; commit: number },
  snapshot: SnapshotMeta | undefined,
  entries: readonly Entry[],
): string {
  const last = entries.at(-1);
  return (
    `term=${hardState.term} vote=${hardState.vote ?? '-'} commit=${hardState.commit}` +
    ` snapshot=${snapshot === undefined ? '-' : snapshotKey(snapshot)} last=${last === undefined ? '-' : `${last.index}@${last.term}`}`
  );
}
