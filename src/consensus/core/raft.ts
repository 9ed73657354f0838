import {
  PROTOCOL_VERSION,
  type ClusterConfig,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type SnapshotMeta,
} from './messages.js';
import type { Ready, ReadState, Role, SoftState } from './ready.js';
import type { Prng } from './prng.js';
import { RaftLog } from './raft-log.js';
import { Progress, type ProgressState } from './progress.js';
import { ReadIndexQueue } from './read-index.js';
import { invariant } from './invariant.js';
import { campaign, handleRequestVote, isInLease, stepCandidate, stepFollower } from './election.js';
import {
  bcastAppend,
  bcastCommit,
  bcastHeartbeat,
  maybeCommit,
  onCommitAdvanced,
  sendAppend,
  sendTimeoutNow,
  stepLeader,
} from './replication.js';

export interface RaftOptions {
  id: NodeId;
  /** Voters, including this node (used if there is no snapshot). */
  config: ClusterConfig;
  /** Leader heartbeat period, in ticks (default 5: 50 ms with the host's 10 ms tick). */
  heartbeatTicks: number;
  /** Election timeout, randomized per election in [electionTicksMin, electionTicksMax). */
  electionTicksMin: number;
  electionTicksMax: number;
  random: Prng;
  preVote?: boolean;
  checkQuorum?: boolean;
  maxEntriesPerAppend?: number;
  maxBytesPerAppend?: number;
  /** Pipelining window: AppendEntries outstanding per replicating follower. */
  maxInflightAppends?: number;
  /** The leader refuses proposals while this many entries are uncommitted. */
  maxUncommittedEntries?: number;
  /** Largest proposal payload accepted, in bytes (default 2 MiB: a 1 MiB value plus key and framing). */
  maxEntryBytes?: number;
  /**
   * A follower stays in snapshot state until the host calls reportSnapshot or the follower
   * answers; if neither happens within this many ticks (a lost report), the leader probes it
   * again, which re-sends InstallSnapshot. Default 1000 (10 s). The host should ignore an
   * InstallSnapshot for a snapshot it is still streaming to that follower.
   */
  snapshotTimeoutTicks?: number;
  /**
   * How a follower that holds every entry learns that the commit index moved. True (default): on
   * the leader's next tick (or sooner, with the next append that carries entries), so a write
   * costs one AppendEntries and one answer per follower instead of two of each; a follower then
   * applies at most one tick later. False: at once, by an empty AppendEntries (etcd-raft's way).
   * The leader's own commit, and so every client answer, is the same either way.
   */
  deferCommitOnlyAppends?: boolean;
  /** Bound on the committed entries handed out in one Ready. */
  maxCommittedEntriesPerReady?: number;
  maxCommittedBytesPerReady?: number;
  /** What the host recovered from disk at boot (absent for a fresh node). */
  restore?: { hardState: HardState; snapshot?: SnapshotMeta; entries: readonly Entry[] };
  /** The state machine's applied index at boot (the host restored the snapshot): default snapshot index or 0. */
  applied?: number;
}

export const RAFT_DEFAULTS = {
  heartbeatTicks: 5,
  electionTicksMin: 30,
  electionTicksMax: 50,
  preVote: true,
  checkQuorum: true,
  maxEntriesPerAppend: 256,
  maxBytesPerAppend: 1024 * 1024,
  maxInflightAppends: 64,
  maxUncommittedEntries: 10_000,
  maxEntryBytes: 2 * 1024 * 1024,
  snapshotTimeoutTicks: 1000,
  deferCommitOnlyAppends: true,
  maxCommittedEntriesPerReady: 1024,
  maxCommittedBytesPerReady: 8 * 1024 * 1024,
} as const;

export type ProposeResult =
  | { ok: true; index: number; term: number }
  | { ok: false; reason: 'not_leader' | 'transferring' | 'too_many_uncommitted' | 'too_large'; leaderId: NodeId | null };

export type ReadIndexResult = { ok: true } | { ok: false; reason: 'not_leader'; leaderId: NodeId | null };

export interface TransferResult {
  ok: boolean;
  reason?: string;
  target?: NodeId;
}

export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressState;
  inflight: number;
  recentActive: boolean;
}

export interface RaftStatus {
  id: NodeId;
  role: Role;
  term: number;
  leaderId: NodeId | null;
  vote: NodeId | null;
  commit: number;
  applied: number;
  lastIndex: number;
  lastTerm: number;
  firstIndex: number;
  snapshot: SnapshotMeta;
  voters: NodeId[];
  /** Set while a leadership transfer is in progress. */
  leadTransferee: NodeId | null;
  /** Per member (this node included), on the leader only; empty otherwise. */
  progress: Record<NodeId, ProgressStatus>;
}

/** The limits in force, after defaults. */
export interface RaftLimits {
  readonly heartbeatTicks: number;
  readonly electionTicksMin: number;
  readonly electionTicksMax: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly maxEntriesPerAppend: number;
  readonly maxBytesPerAppend: number;
  readonly maxInflightAppends: number;
  readonly maxUncommittedEntries: number;
  readonly maxEntryBytes: number;
  readonly snapshotTimeoutTicks: number;
  readonly deferCommitOnlyAppends: boolean;
  readonly maxCommittedEntriesPerReady: number;
  readonly maxCommittedBytesPerReady: number;
}

export type StepFn = (r: Raft, m: Message) => void;

/** A message as the core builds it, before the common header is stamped on. */
type Outgoing = Message extends infer M ? (M extends Message ? Omit<M, 'version' | 'from' | 'term'> & { term?: number } : never) : never;

/**
 * The Raft consensus core: a deterministic state machine in the style of etcd-io/raft.
 * The host feeds it time (`tick`), peer messages (`step`) and client requests (`propose`,
 * `readIndex`), then takes a `Ready`, does the I/O in the order ready.ts states, and calls
 * `advance`. No I/O, no clock, no randomness but the injected Prng.
 *
 * Fields below the public API are internal to this folder (election.ts, replication.ts drive
 * them); hosts read `status()` instead.
 */
export class Raft {
  readonly id: NodeId;
  readonly limits: RaftLimits;

  // --- persistent state (Raft fig. 2), handed out as HardState ---
  term = 0;
  vote: NodeId | null = null;
  readonly log: RaftLog;

  // --- volatile state ---
  role: Role = 'follower';
  leaderId: NodeId | null = null;
  voters: readonly NodeId[];
  /** Leader only: every voter's progress, this node included. */
  progress = new Map<NodeId, Progress>();
  /** Candidate and pre-candidate: the answers received. */
  votes = new Map<NodeId, boolean>();
  /** Ticks since the last election timeout reset (follower: since hearing from the leader). */
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout: number;
  /** Leader only: the member leadership is being handed to. */
  leadTransferee: NodeId | null = null;
  /**
   * Leader only: ticks since the current transfer started. Its own counter, so a transfer
   * request never delays the CheckQuorum period (electionElapsed).
   */
  transferElapsed = 0;
  readonly reads = new ReadIndexQueue();
  step_: StepFn = stepFollower;

  // --- what the next Ready hands out ---
  msgs: Message[] = [];
  readStates: ReadState[] = [];
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  private readyOutstanding = false;
  private readonly random: Prng;

  constructor(opts: RaftOptions) {
    this.id = opts.id;
    this.random = opts.random;
    this.limits = resolveLimits(opts);
    const restore = opts.restore;
    const snapshot: SnapshotMeta = restore?.snapshot ?? { index: 0, term: 0, config: opts.config };
    this.voters = [...snapshot.config.voters];
    invariant(this.voters.length > 0 && new Set(this.voters).size === this.voters.length, () =>
      `cluster voters must be non-empty and distinct: [${this.voters.join(', ')}]`,
    );
    invariant(this.voters.includes(this.id), () => `node ${this.id} is not among the voters [${this.voters.join(', ')}]`);
    const hardState = restore?.hardState ?? { term: 0, vote: null, commit: 0 };
    const committed = Math.max(hardState.commit, snapshot.index);
    this.log = new RaftLog(snapshot, restore?.entries ?? [], committed, opts.applied ?? snapshot.index);
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.randomizedElectionTimeout = this.limits.electionTicksMin;
    this.becomeFollower(this.term, null);
    // What the host already has on disk is not news.
    this.prevHardState = this.hardState();
    this.prevSoftState = this.softState();
  }

  // ===================== public API =====================

  /** One unit of time (10 ms in the host). Elections and heartbeats are counted in ticks. */
  tick(): void {
    if (this.role === 'leader') this.tickHeartbeat();
    else this.tickElection();
  }

  /** A message from a peer. Messages of another protocol version or from non-members are ignored. */
  step(m: Message): void {
    if (m.version !== PROTOCOL_VERSION || m.to !== this.id || m.from === this.id || !this.voters.includes(m.from)) return;
    if (m.term > this.term) {
      if (m.type === 'RequestVote') {
        // A node that heard from a leader within the minimum election timeout ignores a
        // disruptive candidate (thesis 9.6), unless leadership is being handed to it.
        if (!m.transfer && isInLease(this)) return;
        // A pre-vote does not move our term: the pre-candidate has not bumped its own.
        if (!m.preVote) this.becomeFollower(m.term, null);
      } else if (m.type === 'RequestVoteResponse' && m.preVote && m.granted) {
        // Granted pre-votes carry the term the pre-candidate would campaign at: not news.
      } else if (m.type === 'AppendEntries' || m.type === 'Heartbeat' || m.type === 'InstallSnapshot') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, null);
      }
    } else if (m.term < this.term) {
      this.stepLowerTerm(m);
      return;
    }
    if (m.type === 'RequestVote') {
      handleRequestVote(this, m);
      return;
    }
    this.step_(this, m);
  }

  propose(data: Uint8Array): ProposeResult {
    if (this.role !== 'leader') return { ok: false, reason: 'not_leader', leaderId: this.leaderId };
    if (this.leadTransferee !== null) return { ok: false, reason: 'transferring', leaderId: this.id };
    if (data.byteLength > this.limits.maxEntryBytes) return { ok: false, reason: 'too_large', leaderId: this.id };
    if (this.log.lastIndex() - this.log.committed >= this.limits.maxUncommittedEntries) {
      return { ok: false, reason: 'too_many_uncommitted', leaderId: this.id };
    }
    const entry = this.appendEntry('command', data);
    bcastAppend(this, false);
    return { ok: true, index: entry.index, term: entry.term };
  }

  /**
   * Asks for a linearizable read point. On success a ReadState with this `context` shows up in a
   * later Ready once a quorum confirmed this node still leads; it never shows up if leadership is
   * lost first (the host fails pending reads when Ready.softState says so).
   */
  readIndex(context: string): ReadIndexResult {
    if (this.role !== 'leader') return { ok: false, reason: 'not_leader', leaderId: this.leaderId };
    if (!this.committedInCurrentTerm()) {
      this.reads.holdUntilCommit(context);
      return { ok: true };
    }
    this.registerRead(context);
    return { ok: true };
  }

  /** Hands leadership to `to`, or to the most up-to-date follower when absent (thesis 3.10). */
  transferLeadership(to?: NodeId): TransferResult {
    if (this.role !== 'leader') return { ok: false, reason: 'not_leader' };
    const target = to ?? this.mostUpToDateFollower();
    if (target === undefined) return { ok: false, reason: 'no_follower' };
    if (target === this.id) return { ok: false, reason: 'already_leader', target };
    if (!this.voters.includes(target)) return { ok: false, reason: 'not_a_member', target };
    if (this.leadTransferee === target) return { ok: true, target };
    this.leadTransferee = target;
    // The transfer must finish within one election timeout, else it is abandoned (tickHeartbeat).
    this.transferElapsed = 0;
    const pr = this.progress.get(target) as Progress;
    if (pr.match === this.log.lastIndex()) sendTimeoutNow(this, target);
    // Even with nothing new to send (earlier appends may be lost), an append makes the target
    // answer now: an ack, or a rejection that starts probing.
    else sendAppend(this, target, true);
    return { ok: true, target };
  }

  /** Starts an election now, as if the election timeout fired (tests, operators). */
  campaign(): void {
    if (this.role !== 'leader') campaign(this, false);
  }

  hasReady(): boolean {
    if (this.readyOutstanding) return false;
    return (
      !sameSoftState(this.softState(), this.prevSoftState) ||
      !sameHardState(this.hardState(), this.prevHardState) ||
      this.log.pendingSnapshotMeta() !== undefined ||
      this.log.unstableEntries().length > 0 ||
      this.msgs.length > 0 ||
      this.log.hasNextCommittedEntries() ||
      this.readStates.length > 0
    );
  }

  /** Take what must be persisted, sent and applied; call advance(ready) once done. One at a time. */
  ready(): Ready {
    invariant(!this.readyOutstanding, () => 'ready() called again before advance() of the previous Ready');
    const soft = this.softState();
    const hard = this.hardState();
    const snapshot = this.log.pendingSnapshotMeta();
    const rd: Ready = {
      ...(sameSoftState(soft, this.prevSoftState) ? {} : { softState: soft }),
      ...(sameHardState(hard, this.prevHardState) ? {} : { hardState: hard }),
      ...(snapshot === undefined ? {} : { snapshot }),
      entries: this.log.unstableEntries(),
      messages: this.msgs,
      committedEntries: this.log.nextCommittedEntries(
        this.limits.maxCommittedEntriesPerReady,
        this.limits.maxCommittedBytesPerReady,
      ),
      readStates: this.readStates,
    };
    this.prevSoftState = soft;
    this.prevHardState = hard;
    this.msgs = [];
    this.readStates = [];
    this.reads.markAllSent();
    this.readyOutstanding = true;
    return rd;
  }

  advance(rd: Ready): void {
    invariant(this.readyOutstanding, () => 'advance() without an outstanding Ready');
    this.readyOutstanding = false;
    if (rd.snapshot !== undefined) {
      this.log.stableSnapshotTo(rd.snapshot.index);
      // The host restored the state machine from it.
      if (rd.snapshot.index <= this.log.committed) this.log.appliedTo(rd.snapshot.index);
    }
    // The log may have changed since the Ready was taken: mark stable the longest prefix that still matches.
    for (let k = rd.entries.length - 1; k >= 0; k--) {
      const e = rd.entries[k] as Entry;
      if (this.log.matchTerm(e.index, e.term)) {
        this.log.stableTo(e.index, e.term);
        break;
      }
    }
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplied !== undefined) this.log.appliedTo(lastApplied.index);
    if (this.role === 'leader') {
      // Thesis 10.2.1: the leader counts itself toward commit only for entries on its own disk.
      const self = this.progress.get(this.id) as Progress;
      self.maybeUpdate(this.log.stableLastIndex());
      if (maybeCommit(this)) onCommitAdvanced(this);
    }
  }

  compact(snapshot: SnapshotMeta): void {
    this.log.compact(snapshot);
  }

  reportSnapshot(to: NodeId, ok: boolean): void {
    const pr = this.progress.get(to);
    if (this.role !== 'leader' || pr === undefined || pr.state !== 'snapshot') return;
    if (!ok) pr.pendingSnapshot = 0;
    // Either way, wait for the follower's answer (or the next heartbeat reply) before probing.
    pr.becomeProbe();
    pr.probeSent = true;
  }

  reportUnreachable(to: NodeId): void {
    const pr = this.progress.get(to);
    if (this.role === 'leader' && pr !== undefined && pr.state === 'replicate') pr.becomeProbe();
  }

  status(): RaftStatus {
    const progress: Record<NodeId, ProgressStatus> = {};
    if (this.role === 'leader') {
      for (const [id, pr] of this.progress) {
        progress[id] = {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          inflight: pr.inflights.count(),
          recentActive: pr.recentActive,
        };
      }
    }
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      leaderId: this.leaderId,
      vote: this.vote,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      lastTerm: this.log.lastTerm(),
      firstIndex: this.log.firstIndex(),
      snapshot: this.log.snapshotMeta(),
      voters: [...this.voters],
      leadTransferee: this.leadTransferee,
      progress,
    };
  }

  // ===================== internal to the core =====================

  quorum(): number {
    return Math.floor(this.voters.length / 2) + 1;
  }

  send(m: Outgoing): void {
    invariant(m.to !== this.id, () => `message ${m.type} addressed to self`);
    this.msgs.push({ version: PROTOCOL_VERSION, from: this.id, term: this.term, ...m } as Message);
  }

  softState(): SoftState {
    return { role: this.role, leaderId: this.leaderId };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  committedInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.random.nextInt(this.limits.electionTicksMin, this.limits.electionTicksMax);
  }

  private reset(term: number): void {
    if (term !== this.term) {
      invariant(term > this.term, () => `term moving backwards from ${this.term} to ${term}`);
      this.term = term;
      this.vote = null;
    }
    this.leaderId = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransferee = null;
    this.transferElapsed = 0;
    this.votes.clear();
    this.progress.clear();
    this.reads.clear();
  }

  becomeFollower(term: number, leaderId: NodeId | null): void {
    this.reset(term);
    this.step_ = stepFollower;
    this.leaderId = leaderId;
    this.role = 'follower';
  }

  /** PreVote (thesis 9.6): ask first, without touching our term or vote. */
  becomePreCandidate(): void {
    invariant(this.role !== 'leader', () => 'a leader cannot become a pre-candidate');
    this.step_ = stepCandidate;
    this.votes.clear();
    this.leaderId = null;
    this.electionElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.role = 'pre-candidate';
  }

  becomeCandidate(): void {
    invariant(this.role !== 'leader', () => 'a leader cannot become a candidate');
    this.reset(this.term + 1);
    this.step_ = stepCandidate;
    this.vote = this.id;
    this.role = 'candidate';
  }

  becomeLeader(): void {
    invariant(this.role === 'candidate', () => `only a candidate becomes leader (was ${this.role})`);
    this.reset(this.term);
    this.step_ = stepLeader;
    this.leaderId = this.id;
    this.role = 'leader';
    const last = this.log.lastIndex();
    for (const id of this.voters) {
      const pr = new Progress(last + 1, this.limits.maxInflightAppends);
      if (id === this.id) {
        pr.match = this.log.stableLastIndex();
        pr.becomeReplicate();
        pr.recentActive = true;
      }
      this.progress.set(id, pr);
    }
    // Raft §8: commit an entry of our own term at once, so earlier terms' entries commit and
    // ReadIndex can start (thesis 6.4).
    this.appendEntry('noop', new Uint8Array(0));
    bcastAppend(this, false);
  }

  appendEntry(type: Entry['type'], data: Uint8Array): Entry {
    const entry: Entry = { index: this.log.lastIndex() + 1, term: this.term, type, data };
    this.log.append([entry]);
    return entry;
  }

  registerRead(context: string): void {
    if (this.voters.length === 1) {
      this.readStates.push({ context, index: this.log.committed });
      return;
    }
    const roundContext = this.reads.register(context, this.log.committed);
    if (roundContext !== null) bcastHeartbeat(this, roundContext);
  }

  private mostUpToDateFollower(): NodeId | undefined {
    let best: NodeId | undefined;
    let bestMatch = -1;
    for (const id of this.voters) {
      if (id === this.id) continue;
      const match = (this.progress.get(id) as Progress).match;
      if (match > bestMatch) {
        best = id;
        bestMatch = match;
      }
    }
    return best;
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      campaign(this, false);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    for (const pr of this.progress.values()) {
      if (pr.state === 'snapshot' && ++pr.snapshotElapsedTicks >= this.limits.snapshotTimeoutTicks) {
        pr.pendingSnapshot = 0;
        pr.becomeProbe();
      }
    }
    if (this.electionElapsed >= this.limits.electionTicksMin) {
      this.electionElapsed = 0;
      if (this.limits.checkQuorum && !this.quorumRecentlyActive()) {
        // CheckQuorum (thesis 6.2): a leader cut off from a quorum steps down, so clients go elsewhere.
        this.becomeFollower(this.term, null);
        return;
      }
    }
    if (this.leadTransferee !== null && ++this.transferElapsed >= this.limits.electionTicksMin) {
      // Thesis 3.10: a transfer that did not finish within an election timeout is abandoned and
      // the leader accepts proposals again.
      this.leadTransferee = null;
      this.transferElapsed = 0;
    }
    if (this.limits.deferCommitOnlyAppends) bcastCommit(this);
    if (this.heartbeatElapsed >= this.limits.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      bcastHeartbeat(this, this.reads.currentContext());
    }
  }

  /** Counts members heard from this period, then starts a new period. */
  private quorumRecentlyActive(): boolean {
    let active = 0;
    for (const [id, pr] of this.progress) {
      if (id === this.id || pr.recentActive) active++;
      if (id !== this.id) pr.recentActive = false;
    }
    return active >= this.quorum();
  }

  private stepLowerTerm(m: Message): void {
    if ((this.limits.checkQuorum || this.limits.preVote) && (m.type === 'AppendEntries' || m.type === 'Heartbeat')) {
      // A deposed leader (e.g. back from a partition) learns our term from this and steps down;
      // with PreVote/CheckQuorum nothing else would tell it (thesis 9.6). No rejectedIndex: it
      // carries only the term.
      this.send({ type: 'AppendEntriesResponse', to: m.from, success: false, matchIndex: 0 });
    } else if (m.type === 'RequestVote' && m.preVote) {
      // Tell a lagging pre-candidate our term so it catches up rather than retrying forever.
      this.send({ type: 'RequestVoteResponse', to: m.from, preVote: true, granted: false });
    }
  }
}

function resolveLimits(opts: RaftOptions): RaftLimits {
  const limits: RaftLimits = {
    heartbeatTicks: opts.heartbeatTicks,
    electionTicksMin: opts.electionTicksMin,
    electionTicksMax: opts.electionTicksMax,
    preVote: opts.preVote ?? RAFT_DEFAULTS.preVote,
    checkQuorum: opts.checkQuorum ?? RAFT_DEFAULTS.checkQuorum,
    maxEntriesPerAppend: opts.maxEntriesPerAppend ?? RAFT_DEFAULTS.maxEntriesPerAppend,
    maxBytesPerAppend: opts.maxBytesPerAppend ?? RAFT_DEFAULTS.maxBytesPerAppend,
    maxInflightAppends: opts.maxInflightAppends ?? RAFT_DEFAULTS.maxInflightAppends,
    maxUncommittedEntries: opts.maxUncommittedEntries ?? RAFT_DEFAULTS.maxUncommittedEntries,
    maxEntryBytes: opts.maxEntryBytes ?? RAFT_DEFAULTS.maxEntryBytes,
    snapshotTimeoutTicks: opts.snapshotTimeoutTicks ?? RAFT_DEFAULTS.snapshotTimeoutTicks,
    deferCommitOnlyAppends: opts.deferCommitOnlyAppends ?? RAFT_DEFAULTS.deferCommitOnlyAppends,
    maxCommittedEntriesPerReady: opts.maxCommittedEntriesPerReady ?? RAFT_DEFAULTS.maxCommittedEntriesPerReady,
    maxCommittedBytesPerReady: opts.maxCommittedBytesPerReady ?? RAFT_DEFAULTS.maxCommittedBytesPerReady,
  };
  for (const [name, value] of Object.entries(limits)) {
    if (typeof value === 'number') {
      invariant(Number.isInteger(value) && value >= 1, () => `RaftOptions.${name} must be a positive integer, got ${value}`);
    }
  }
  invariant(limits.electionTicksMin > limits.heartbeatTicks, () =>
    `RaftOptions.electionTicksMin (${limits.electionTicksMin}) must exceed heartbeatTicks (${limits.heartbeatTicks})`,
  );
  invariant(limits.electionTicksMax > limits.electionTicksMin, () =>
    `RaftOptions.electionTicksMax (${limits.electionTicksMax}) must exceed electionTicksMin (${limits.electionTicksMin})`,
  );
  return limits;
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leaderId === b.leaderId;
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
