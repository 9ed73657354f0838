import { performance } from 'node:perf_hooks';
import type { Entry, HardState, Message, NodeId, SnapshotMeta } from './core/messages.js';
import type { ProposeResult, Raft } from './core/raft.js';
import type { Ready, Role } from './core/ready.js';
import { decodeCommand, encodeCommand } from '../kv/command-codec.js';
import type { KvApplyResult, KvWriteAnswer, SessionsCommand } from '../kv/commands.js';
import type { KvStateMachine } from '../kv/kv-state-machine.js';
import type { SessionLimits } from '../sessions/session-table.js';
import { CommitTimeoutError, NotLeaderError, UnavailableError, type KvWriteRequest } from './kv-node.port.js';
import { kv, type Clock, type HostLog, type HostMetrics, type HostStorage, type HostTransport } from './host-ports.js';
import { PendingProposals } from './pending-proposals.js';
import { PendingReads } from './pending-reads.js';
import { PendingTransfers, type TransferResult } from './pending-transfers.js';
import { SnapshotClaims } from './snapshot-claims.js';
import { Snapshotter, snapshotDue, snapshotPhase, type SnapshotResult } from './snapshotter.js';

export interface RaftHostOptions {
  readonly nodeId: NodeId;
  /** A client write or read not done within this is answered 504 (outcome unknown). */
  readonly requestTimeoutMs: number;
  readonly pendingProposalsMax: number;
  readonly pendingReadsMax: number;
  /** Take a snapshot once this many entries were applied since the last one. */
  readonly snapshotEntries: number;
  readonly snapshotChunkBytes: number;
  /**
   * Proposed by each new leader as the cluster's session limits, and again whenever the log time
   * stood still for `sessionHousekeepingMs` while sessions exist (so idle sessions expire).
   */
  readonly sessionLimits: SessionLimits;
  readonly sessionHousekeepingMs: number;
  /**
   * The commit index is not Raft persistent state (fig. 2): it is written to `state` with a
   * term or vote change, and otherwise at most this often, so a busy leader does not pay for an
   * extra atomic file replacement on every batch. Term and vote are always durable before any
   * message that depends on them.
   */
  readonly commitPersistIntervalMs: number;
  /** How long transferLeadership waits for the new leader. */
  readonly transferTimeoutMs: number;
  /** The client API url of a member, for NotLeaderError. */
  readonly memberUrl: (id: NodeId) => string | null;
}

export interface RaftHostDeps {
  readonly raft: Raft;
  readonly storage: HostStorage;
  readonly transport: HostTransport;
  readonly stateMachine: KvStateMachine;
  readonly clock: Clock;
  readonly metrics: HostMetrics;
  readonly log: HostLog;
  /** What is on disk at boot: the hard state, the snapshot restored and its term. */
  readonly durableHardState: HardState;
  readonly restoredSnapshot: SnapshotMeta | null;
  /** Shared with the snapshot receiver (one writer per snapshot file); default: the host's own. */
  readonly claims?: SnapshotClaims;
  /**
   * A failed write or fsync, or a broken invariant: the node must stop at once and recover from
   * disk (STYLE 6). The real node logs and exits non-zero.
   */
  readonly fatal: (error: unknown) => void;
  /** Runs the loop soon; default setImmediate, so proposals arriving together share one Ready. */
  readonly schedule?: (run: () => void) => void;
  /**
   * Runs the loop right after the current callback, for peer messages (an AppendEntries to
   * persist, an acknowledgement that commits): a whole batch arrives in one message, so waiting
   * for more gains nothing and costs a turn of the event loop on the commit path. Default
   * queueMicrotask; when only `schedule` is given (a simulator), that one.
   */
  readonly scheduleSoon?: (run: () => void) => void;
}

/** `to` names no member of the cluster. */
export class InvalidTransferTargetError extends Error {}

const RESOLVED = Promise.resolve();

/**
 * The one loop around the pure Raft core. Whenever the core has a Ready, it is processed
 * strictly one at a time:
 *
 *   1. the leader's AppendEntries and Heartbeats of an already durable term go out at once: it
 *      counts its own entries toward commit only after advance(), i.e. after its fsync (Raft
 *      thesis 10.2.1), so writing its log in parallel with the followers is safe;
 *   2. persist: snapshot, entries, hard state, one save and so one group fsync per Ready;
 *   3. apply committed entries and answer the clients waiting for them. These entries are
 *      durable already (the core hands out only committed entries at or below its stable index),
 *      so this overlaps step 2; a Ready carrying a snapshot waits for it to be persisted and
 *      restores it first;
 *   4. serve the reads whose read index is applied;
 *   5. once step 2 is durable, send the remaining messages (votes, acknowledgements: they promise
 *      what is now on disk), then advance().
 *
 * Proposals and peer messages arriving meanwhile are stepped into the core at once and picked up
 * by the next Ready, so many writes share one fsync (group commit). A failed save is fatal.
 */
export class RaftHost {
  readonly raft: Raft;
  private readonly storage: HostStorage;
  private readonly transport: HostTransport;
  readonly stateMachine: KvStateMachine;
  private readonly clock: Clock;
  private readonly metrics: HostMetrics;
  private readonly log: HostLog;
  private readonly fatal: (error: unknown) => void;
  private readonly schedule: (run: () => void) => void;
  private readonly scheduleSoon: (run: () => void) => void;

  private readonly pending: PendingProposals;
  private readonly reads: PendingReads;
  readonly snapshotter: Snapshotter;
  private readonly transfers: PendingTransfers;

  /** Invariant: applied === stateMachine.appliedIndex; appliedTerm is that entry's term. */
  private appliedIndex: number;
  private appliedTerm: number;

  private persistedHardState: HardState;
  private latestHardState: HardState;
  private lastHardStateWriteMs: number;

  /** The term this node leads in, as last processed; null when not leading. */
  private leadingTerm: number | null = null;
  private lastRole: Role;
  private lastLeaderId: NodeId | null;
  private nextHousekeepingMs = 0;

  private loopScheduled = false;
  private loopSoon = false;
  /** Readies begun, and the ordinal of the last one finished (handleReady runs one at a time). */
  private readiesBegun = 0;
  private readiesDone = 0;
  private settleWaiters: { readonly after: number; readonly resolve: () => void }[] = [];
  private loopRunning = false;
  private stopped = false;
  private dead = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly options: RaftHostOptions,
    deps: RaftHostDeps,
  ) {
    this.raft = deps.raft;
    this.storage = deps.storage;
    this.transport = deps.transport;
    this.stateMachine = deps.stateMachine;
    this.clock = deps.clock;
    this.metrics = deps.metrics;
    this.log = deps.log;
    this.fatal = deps.fatal;
    this.schedule = deps.schedule ?? ((run) => setImmediate(run));
    this.scheduleSoon = deps.scheduleSoon ?? deps.schedule ?? queueMicrotask;
    this.pending = new PendingProposals(options.pendingProposalsMax, options.requestTimeoutMs);
    this.reads = new PendingReads(options.pendingReadsMax, options.requestTimeoutMs);
    this.transfers = new PendingTransfers(options.transferTimeoutMs);
    this.snapshotter = new Snapshotter(
      {
        storage: deps.storage,
        metrics: deps.metrics,
        log: deps.log,
        chunkBytes: options.snapshotChunkBytes,
        claims: deps.claims ?? new SnapshotClaims(),
        compactCore: (meta) => this.raft.compact(meta),
      },
      deps.restoredSnapshot,
    );
    this.appliedIndex = deps.stateMachine.appliedIndex;
    this.appliedTerm = deps.restoredSnapshot?.index === this.appliedIndex ? deps.restoredSnapshot.term : 0;
    this.persistedHardState = deps.durableHardState;
    this.latestHardState = deps.durableHardState;
    this.lastHardStateWriteMs = deps.clock.now();
    this.lastRole = this.raft.role;
    this.lastLeaderId = this.raft.leaderId;
    // The core re-hands the committed entries after the snapshot: apply them at once.
    this.kick();
  }

  get applied(): number {
    return this.appliedIndex;
  }

  get pendingWrites(): number {
    return this.pending.size;
  }

  get pendingReadBarriers(): number {
    return this.reads.size;
  }

  /** Knows a leader and has applied everything it knows committed (SPEC 3 /health/ready). */
  isReady(): boolean {
    return !this.stopped && this.raft.leaderId !== null && this.appliedIndex >= this.raft.log.committed;
  }

  // ---------------- inputs ----------------

  /** One tick of the core (the ticker calls this every tickMs), plus the host's own deadlines. */
  tick(): void {
    if (this.stopped) return;
    if (!this.guard(() => this.raft.tick())) return;
    const nowMs = this.clock.now();
    const expired = this.pending.expire(nowMs);
    for (let k = 0; k < expired; k++) this.metrics.incProposals('failed');
    this.reads.expire(nowMs);
    this.transfers.expire(nowMs);
    if (this.leadingTerm !== null && this.raft.role === 'leader' && nowMs >= this.nextHousekeepingMs) this.maybeProposeSessions(nowMs);
    this.kick();
  }

  /** A message from a peer. */
  step(message: Message): void {
    this.stepAll([message]);
  }

  stepAll(messages: readonly Message[]): void {
    if (this.stopped) return;
    if (this.guard(() => messages.forEach((m) => this.raft.step(m)))) this.kickSoon();
  }

  reportUnreachable(peer: NodeId): void {
    if (this.stopped) return;
    if (this.guard(() => this.raft.reportUnreachable(peer))) this.kick();
  }

  reportSnapshot(peer: NodeId, ok: boolean): void {
    if (this.stopped) return;
    if (this.guard(() => this.raft.reportSnapshot(peer, ok))) this.kick();
  }

  /** Runs `touch` on the core; a broken invariant inside it is fatal. False if it threw. */
  private guard(touch: () => void): boolean {
    try {
      touch();
      return true;
    } catch (error) {
      this.die(error);
      return false;
    }
  }

  /** Proposes a client write; resolves with its answer once its entry is committed and applied. */
  write(command: KvWriteRequest): Promise<KvWriteAnswer> {
    try {
      if (this.stopped) throw new UnavailableError('unavailable', 'this node is shutting down');
      if (this.raft.role !== 'leader') throw this.notLeaderError();
      this.pending.assertRoom();
      const nowMs = this.clock.now();
      const data = encodeCommand({ ...command, timeMs: nowMs });
      const proposed = this.raft.propose(data);
      if (!proposed.ok) throw this.proposeError(proposed);
      // This entry moves the log time on: no sessions entry is needed for another interval.
      this.nextHousekeepingMs = nowMs + this.options.sessionHousekeepingMs;
      this.kick();
      return this.pending.add(proposed.index, proposed.term, nowMs);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** ReadIndex barrier: resolves once leadership is confirmed and the read index applied. */
  readBarrier(): Promise<void> {
    try {
      if (this.stopped) throw new UnavailableError('unavailable', 'this node is shutting down');
      if (this.raft.role !== 'leader') throw this.notLeaderError();
      this.reads.assertRoom();
      const term = this.raft.term;
      const joined = this.reads.joinOpen(term);
      if (joined !== null) return joined;
      const context = this.reads.newContext();
      const accepted = this.raft.readIndex(context);
      if (!accepted.ok) throw this.notLeaderError();
      const done = this.reads.openGroup(context, term, this.clock.now());
      this.kick();
      return done;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Hands leadership to `to` (or the most up-to-date follower); resolves once another node leads. */
  transferLeadership(to?: NodeId): Promise<TransferResult> {
    const from = this.options.nodeId;
    if (this.stopped) return Promise.reject(new UnavailableError('unavailable', 'this node is shutting down'));
    if (this.raft.role !== 'leader') return Promise.reject(this.notLeaderError());
    if (to !== undefined && !this.raft.voters.includes(to)) {
      return Promise.reject(new InvalidTransferTargetError(`${JSON.stringify(to)} is not a member (members: ${this.raft.voters.join(', ')})`));
    }
    const result = this.raft.transferLeadership(to);
    if (!result.ok) {
      if (result.reason === 'already_leader') return Promise.resolve({ from, to: from });
      if (result.reason === 'not_leader') return Promise.reject(this.notLeaderError());
      if (result.reason === 'not_a_member') return Promise.reject(new InvalidTransferTargetError(`${to} is not a member`));
      return Promise.reject(new UnavailableError('unavailable', `cannot transfer leadership: ${result.reason ?? 'refused'}`));
    }
    const target = result.target as NodeId;
    this.log.log(`event=leadership_transfer_started ${kv({ from, to: target, term: this.raft.term })}`);
    this.kick();
    return this.transfers.add(target, this.clock.now());
  }

  /** Takes a snapshot now (POST /admin/snapshot); answers the latest one if nothing new was applied. */
  async takeSnapshot(): Promise<SnapshotResult> {
    if (this.stopped) throw new UnavailableError('unavailable', 'this node is shutting down');
    for (let running = this.snapshotter.running; running !== null; running = this.snapshotter.running) {
      await running.catch(() => undefined);
    }
    if (this.appliedIndex === 0 || this.appliedIndex <= this.snapshotter.lastIndex) return this.snapshotter.latestResult();
    return this.startSnapshot();
  }

  /**
   * Resolves once everything stepped in before this call has been handled: a Ready begun after
   * the call has finished (its state persisted, its messages sent), or the loop went idle with
   * nothing to do. A peer's request waits for this to carry this node's answers back.
   */
  settled(): Promise<void> {
    if (this.stopped || (!this.loopRunning && !this.loopScheduled && !this.loopSoon && !this.raft.hasReady())) return RESOLVED;
    return new Promise((resolve) => this.settleWaiters.push({ after: this.readiesBegun, resolve }));
  }

  /** Resolves once no Ready is in flight and the core has nothing more to hand out. */
  whenIdle(): Promise<void> {
    if (!this.loopRunning && !this.loopScheduled && !this.loopSoon && (this.stopped || !this.raft.hasReady())) return RESOLVED;
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Graceful stop: no new work, the Ready in flight finishes, waiting clients are told the
   * outcome is unknown, the latest hard state is flushed. The caller then closes transport and storage.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.whenIdle();
    await this.snapshotter.running?.catch(() => undefined);
    this.failWaiting(new CommitTimeoutError('the node is shutting down; the outcome is unknown: retry with the same clientId and seq'));
    if (this.dead) return;
    const latest = this.latestHardState;
    const durable = this.persistedHardState;
    if (latest.term !== durable.term || latest.vote !== durable.vote || latest.commit !== durable.commit) {
      await this.storage.save({ entries: [], hardState: latest });
      this.persistedHardState = latest;
    }
  }

  // ---------------- the loop ----------------

  private kick(): void {
    if (this.loopScheduled || this.loopRunning || this.stopped) return;
    this.loopScheduled = true;
    this.schedule(() => {
      this.loopScheduled = false;
      void this.runLoop();
    });
  }

  /** Like kick, without waiting for a turn of the event loop (see RaftHostDeps.scheduleSoon). */
  private kickSoon(): void {
    if (this.loopSoon || this.loopRunning || this.stopped) return;
    this.loopSoon = true;
    this.scheduleSoon(() => {
      this.loopSoon = false;
      void this.runLoop();
    });
  }

  private async runLoop(): Promise<void> {
    if (this.loopRunning || this.stopped) {
      this.notifyIdle();
      return;
    }
    this.loopRunning = true;
    try {
      while (!this.stopped && this.raft.hasReady()) {
        this.readiesBegun++;
        await this.handleReady(this.raft.ready());
        this.readiesDone = this.readiesBegun;
        if (this.settleWaiters.length > 0) this.releaseSettled(false);
      }
    } catch (error) {
      this.die(error);
    } finally {
      this.loopRunning = false;
      this.notifyIdle();
    }
  }

  private async handleReady(rd: Ready): Promise<void> {
    // The open read group's context left with this Ready: later reads need a new round.
    this.reads.sealOpen();
    const nowMs = this.clock.now();
    if (rd.hardState !== undefined) this.latestHardState = rd.hardState;
    const hardState = this.hardStateToPersist(nowMs);

    // 1. Leader appends of a durable term may precede the leader's own fsync (thesis 10.2.1).
    const durableTerm = this.persistedHardState.term;
    const early: Message[] = [];
    const late: Message[] = [];
    for (const m of rd.messages) {
      if ((m.type === 'AppendEntries' || m.type === 'Heartbeat') && m.term === durableTerm) early.push(m);
      else late.push(m);
    }
    if (early.length > 0) this.transport.send(early);

    // 2. Persist (one save, one group fsync).
    const persisted = this.persist(rd, hardState, nowMs);
    // Awaited below; a rejection meanwhile must not count as unhandled.
    persisted.catch(() => undefined);

    // 3. Apply (after restoring a received snapshot, which must be on disk first).
    if (rd.snapshot !== undefined) {
      await persisted;
      await this.restoreSnapshot(rd.snapshot);
    }
    this.applyCommitted(rd.committedEntries);

    // 4. Reads whose index is applied.
    if (rd.readStates.length > 0) this.reads.onReadStates(rd.readStates);
    this.reads.serve(this.appliedIndex);

    if (rd.softState !== undefined || rd.hardState !== undefined) this.onLeadershipView();

    // 5. What promises durable state goes out only once it is durable; then advance.
    await persisted;
    if (late.length > 0) this.transport.send(late);
    this.raft.advance(rd);
    this.maybeSnapshot();
  }

  /**
   * Term and vote must be durable before anything is sent in that term; the commit index only
   * now and then (see RaftHostOptions.commitPersistIntervalMs). Whatever is written here covers
   * only entries this same save makes durable or earlier ones: the core's commit never passes
   * its last index, and all entries up to it are in this Ready or an earlier one.
   */
  private hardStateToPersist(nowMs: number): HardState | undefined {
    const latest = this.latestHardState;
    const durable = this.persistedHardState;
    if (latest.term !== durable.term || latest.vote !== durable.vote) return latest;
    if (latest.commit > durable.commit && nowMs - this.lastHardStateWriteMs >= this.options.commitPersistIntervalMs) return latest;
    return undefined;
  }

  private persist(rd: Ready, hardState: HardState | undefined, nowMs: number): Promise<void> {
    if (rd.snapshot === undefined && rd.entries.length === 0 && hardState === undefined) return RESOLVED;
    const startedMs = performance.now();
    const entries = rd.entries.length;
    const saved = this.storage.save({
      entries: rd.entries,
      ...(rd.snapshot !== undefined ? { snapshot: rd.snapshot } : {}),
      ...(hardState !== undefined ? { hardState } : {}),
    });
    return saved.then(() => {
      if (hardState !== undefined) {
        this.persistedHardState = hardState;
        this.lastHardStateWriteMs = nowMs;
      }
      if (entries > 0) {
        this.metrics.observeFsyncSeconds((performance.now() - startedMs) / 1000);
        this.metrics.observeEntriesPerFsync(entries);
      }
    });
  }

  private applyCommitted(entries: readonly Entry[]): void {
    for (const entry of entries) {
      if (entry.index !== this.appliedIndex + 1) {
        throw new Error(`apply order broken: entry ${entry.index} after applied ${this.appliedIndex}`);
      }
      let result: KvApplyResult | undefined;
      if (entry.type === 'command') result = this.stateMachine.apply(entry.index, decodeCommand(entry.data));
      else this.stateMachine.skip(entry.index);
      this.appliedIndex = entry.index;
      this.appliedTerm = entry.term;
      if (this.pending.size > 0) {
        const outcome = this.pending.settle(entry.index, entry.term, result);
        if (outcome !== 'none') this.metrics.incProposals(outcome);
      }
    }
  }

  /** A snapshot from the leader, already committed to the store by the transport, replaces the state. */
  private async restoreSnapshot(meta: SnapshotMeta): Promise<void> {
    const startedMs = performance.now();
    const restore = this.stateMachine.beginRestore();
    for await (const chunk of this.storage.snapshots.openRead(meta)) restore.write(chunk);
    restore.finish();
    if (this.stateMachine.appliedIndex !== meta.index) {
      throw new Error(`snapshot ${meta.term}-${meta.index} restored the state at index ${this.stateMachine.appliedIndex}`);
    }
    this.appliedIndex = meta.index;
    this.appliedTerm = meta.term;
    this.pending.dropUpTo(meta.index, 'a snapshot from the leader replaced this state');
    this.snapshotter.installed(meta);
    this.metrics.incSnapshots('installed');
    this.log.log(
      `event=snapshot_installed ${kv({ index: meta.index, term: meta.term, keys: this.stateMachine.keyCount, ms: Math.round(performance.now() - startedMs) })}`,
    );
  }

  /** Role, leader or term changed: fail what the old leadership promised, greet the new one. */
  private onLeadershipView(): void {
    const role = this.raft.role;
    const leaderId = this.raft.leaderId;
    const term = this.raft.term;
    if (role !== this.lastRole || leaderId !== this.lastLeaderId) {
      this.log.log(`event=role_changed ${kv({ role, term, leader: leaderId, was: this.lastRole })}`);
      if (leaderId !== this.lastLeaderId) {
        this.metrics.incLeaderChanges();
        this.log.log(`event=leader_changed ${kv({ leader: leaderId, term, previous: this.lastLeaderId })}`);
      }
      this.lastRole = role;
      this.lastLeaderId = leaderId;
    }
    const leadingTerm = role === 'leader' ? term : null;
    if (leadingTerm !== this.leadingTerm) {
      const failed = this.pending.rejectOtherTerms(leadingTerm, `this node stopped leading term ${this.leadingTerm}`);
      for (let k = 0; k < failed; k++) this.metrics.incProposals('failed');
      this.reads.rejectOtherTerms(leadingTerm, () => this.notLeaderError());
      this.leadingTerm = leadingTerm;
      if (leadingTerm !== null) {
        this.log.log(`event=leader_elected ${kv({ term, applied: this.appliedIndex, last_index: this.raft.log.lastIndex() })}`);
        // Take office with a sessions entry: replicated log time moves on (idle sessions expire)
        // and this leader's session limits become the cluster's.
        this.proposeSessions(this.clock.now());
      }
    }
    this.settleTransfers();
  }

  /**
   * Every applied entry moves the log time (its stamp), which is what expires idle sessions: an
   * entry of its own is needed only when no write came for a whole interval and there are
   * sessions to expire. Otherwise a read-only or idle cluster would append one anyway.
   */
  private maybeProposeSessions(nowMs: number): void {
    if (this.stateMachine.sessionCount === 0) {
      this.nextHousekeepingMs = nowMs + this.options.sessionHousekeepingMs;
      return;
    }
    this.proposeSessions(nowMs);
  }

  private proposeSessions(nowMs: number): void {
    const command: SessionsCommand = {
      op: 'sessions',
      timeMs: nowMs,
      sessionTtlMs: this.options.sessionLimits.sessionTtlMs,
      sessionsMax: this.options.sessionLimits.sessionsMax,
    };
    // Retry soon if refused (a transfer in progress), else after the usual interval.
    const proposed = this.raft.propose(encodeCommand(command));
    this.nextHousekeepingMs = nowMs + (proposed.ok ? this.options.sessionHousekeepingMs : 1000);
    if (proposed.ok) this.kick();
  }

  private settleTransfers(): void {
    if (this.transfers.size === 0 || this.raft.role === 'leader' || this.raft.leaderId === null) return;
    const from = this.options.nodeId;
    this.transfers.settle(from, this.raft.leaderId);
    this.log.log(`event=leadership_transferred ${kv({ from, to: this.raft.leaderId, term: this.raft.term })}`);
  }

  private maybeSnapshot(): void {
    if (this.snapshotter.inProgress) return;
    const every = this.options.snapshotEntries;
    const phase = snapshotPhase(this.options.nodeId, this.raft.voters, every);
    if (!snapshotDue(this.appliedIndex, this.snapshotter.lastIndex, every, phase)) return;
    this.startSnapshot().catch(() => undefined);
  }

  /** Snapshot of the state at the applied index; a failure to write it is fatal. */
  private startSnapshot(): Promise<SnapshotResult> {
    const view = this.stateMachine.snapshot();
    const meta: SnapshotMeta = { index: view.index, term: this.appliedTerm, config: { voters: [...this.raft.voters] } };
    const running = this.snapshotter.take(meta, view);
    running.catch((error: unknown) => this.die(error));
    return running;
  }

  private notifyIdle(): void {
    if (this.loopRunning || this.loopScheduled || this.loopSoon) return;
    if (!this.stopped && this.raft.hasReady()) {
      this.kick();
      return;
    }
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
    this.releaseSettled(true);
  }

  /** Resolves the settled() waiters a finished Ready covers (all of them when the loop is idle or stopped). */
  private releaseSettled(all: boolean): void {
    const waiters = this.settleWaiters;
    if (waiters.length === 0) return;
    this.settleWaiters = all ? [] : waiters.filter((w) => w.after >= this.readiesDone);
    for (const w of waiters) if (all || w.after < this.readiesDone) w.resolve();
  }

  private die(error: unknown): void {
    if (this.dead) return;
    this.dead = true;
    this.stopped = true;
    this.failWaiting(new CommitTimeoutError('the node stopped on a fatal error; the outcome is unknown: retry with the same clientId and seq'));
    this.fatal(error);
  }

  private failWaiting(error: Error): void {
    this.releaseSettled(true);
    this.pending.rejectAll(error);
    this.reads.rejectAll(new UnavailableError('unavailable', 'this node is shutting down'));
    this.transfers.rejectAll(new UnavailableError('unavailable', 'this node is shutting down'));
  }

  private notLeaderError(): Error {
    const leaderId = this.raft.leaderId;
    if (leaderId === null || leaderId === this.options.nodeId) {
      return new UnavailableError('no_leader', 'no leader is known (an election may be in progress); retry shortly');
    }
    return new NotLeaderError(leaderId, this.options.memberUrl(leaderId));
  }

  private proposeError(result: Extract<ProposeResult, { ok: false }>): Error {
    switch (result.reason) {
      case 'not_leader':
        return this.notLeaderError();
      case 'transferring':
        return new UnavailableError('unavailable', 'leadership is being transferred; retry shortly');
      case 'too_many_uncommitted':
        return new UnavailableError('unavailable', 'too many uncommitted entries (followers behind?); retry shortly');
      case 'too_large':
        return new RangeError('the command is larger than the largest log entry allowed');
    }
  }
}
