import type { Entry, HardState, NodeId, SnapshotMeta } from '../../../src/consensus/core/messages.js';
import type { Role } from '../../../src/consensus/core/ready.js';
import type { DurableStore } from '../durable-store.js';

/**
 * The Raft safety properties (Raft paper fig. 3), checked while the simulation runs:
 *  - election safety: at most one leader per term, ever (across crashes too);
 *  - log matching: two logs holding an entry with the same index and term hold the same entry
 *    and agree on everything before it. Checked inductively on every persisted entry: each
 *    (index, term) must always come with the same payload and the same previous term;
 *  - leader completeness: a new leader's log holds every entry committed before it; and, stronger,
 *    no node whose durable log lacks a committed entry could even win an election (its log is
 *    at least as up to date as a majority's), which catches a premature commit (Raft fig. 8)
 *    the moment it happens, not only in the rare runs where a later leader overwrites it;
 *  - state machine safety: every node applies the same entry at an index, and snapshots of the
 *    same index carry the same state;
 *  - no committed entry ever changes: every log agrees with it at or below its commit index,
 *    and no node ever truncates one it holds.
 */

/** What the checker reads from a node between steps. */
export interface NodeView {
  readonly id: NodeId;
  readonly incarnation: number;
  readonly store: DurableStore;
  /** Null while crashed. `settled`: the node has no unhandled Ready, so its store matches its core. */
  safetyStatus(): { role: Role; term: number; commit: number; settled: boolean; hostApplied: number } | null;
}

interface Fingerprint {
  readonly term: number;
  readonly body: string;
}

function fingerprint(entry: Entry): Fingerprint {
  return { term: entry.term, body: `${entry.type}:${Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength).toString('latin1')}` };
}

function same(a: Fingerprint, b: Fingerprint): boolean {
  return a.term === b.term && a.body === b.body;
}

export class SafetyChecker {
  readonly violations: string[] = [];
  private readonly leaderByTerm = new Map<number, NodeId>();
  /** `node@term` -> the candidate it voted for, as made durable. */
  private readonly votesByNodeTerm = new Map<string, NodeId>();
  /** index@term -> payload and the term of the entry before it (log matching, inductively). */
  private readonly entriesSeen = new Map<string, { print: Fingerprint; prevTerm: number | undefined }>();
  /**
   * Entries known committed (seen at or below some node's commit index in its durable log), with
   * the term of the node that first showed it committed: an upper bound on the term in which it
   * was committed, since a node learns of a commit only from a leader of its own term or earlier.
   */
  private readonly committed = new Map<number, Fingerprint & { committedInTerm: number }>();
  private readonly appliedAt = new Map<number, Fingerprint & { node: NodeId }>();
  private readonly snapshotImageAt = new Map<number, { term: number; image: string; node: NodeId }>();
  /** Per node: commit index up to which its durable log was compared with `committed`, and its last commit. */
  private readonly checkedCommit = new Map<NodeId, { incarnation: number; upTo: number; lastCommit: number }>();
  private readonly leadersChecked = new Set<string>();
  /** The highest index known committed: a log holding that entry holds every committed one. */
  private highestCommitted = 0;
  private readonly electableReported = new Set<string>();
  private now = 0;

  get ok(): boolean {
    return this.violations.length === 0;
  }

  setTick(tick: number): void {
    this.now = tick;
  }

  leaderTermCount(): number {
    return this.leaderByTerm.size;
  }

  committedCount(): number {
    return this.committed.size;
  }

  /**
   * A hard state was made durable on `node`. A node grants at most one vote per term (Raft 5.2),
   * across crashes and power losses too: a vote it forgot could elect two leaders in one term.
   */
  hardStateSaved(node: NodeId, hardState: HardState): void {
    if (hardState.vote === null) return;
    const key = `${node}@${hardState.term}`;
    const prior = this.votesByNodeTerm.get(key);
    if (prior !== undefined && prior !== hardState.vote) {
      this.fail(`election safety: ${node} voted for ${prior} and then ${hardState.vote} in term ${hardState.term}`);
    }
    this.votesByNodeTerm.set(key, hardState.vote);
  }

  /** From the node's Ready handling: the role it just took (election safety must not miss a brief leader). */
  roleObserved(node: NodeId, role: Role, term: number): void {
    if (role !== 'leader') return;
    const prior = this.leaderByTerm.get(term);
    if (prior !== undefined && prior !== node) {
      this.fail(`election safety: ${prior} and ${node} both leader in term ${term}`);
    }
    this.leaderByTerm.set(term, node);
  }

  /**
   * `entries` were made durable on `node`, replacing `replaced` (its former entries from
   * entries[0].index on). A stale leader may write anything at an index committed elsewhere;
   * what must never happen is a node dropping a committed entry it already held.
   */
  persisted(node: NodeId, entries: readonly Entry[], prevTerm: number | undefined, replaced: readonly Entry[]): void {
    const first = entries[0]?.index ?? Infinity;
    for (const old of replaced) {
      const decided = this.committed.get(old.index);
      const rewritten = entries[old.index - first];
      const kept = rewritten !== undefined && same(fingerprint(rewritten), fingerprint(old));
      if (!kept && decided !== undefined && same(decided, fingerprint(old))) {
        this.fail(`committed entry changed: ${node} truncated committed ${old.index}@${old.term}`);
      }
    }
    let previous = prevTerm;
    for (const entry of entries) {
      const print = fingerprint(entry);
      const key = `${entry.index}@${entry.term}`;
      const seen = this.entriesSeen.get(key);
      if (seen === undefined) {
        this.entriesSeen.set(key, { print, prevTerm: previous });
      } else if (!same(seen.print, print)) {
        this.fail(`log matching: ${node} persisted a different entry at ${key}`);
      } else if (seen.prevTerm !== undefined && previous !== undefined && seen.prevTerm !== previous) {
        this.fail(`log matching: ${node} has term ${previous} before ${key}, another log has ${seen.prevTerm}`);
      }
      previous = entry.term;
    }
  }

  applied(node: NodeId, entry: Entry): void {
    const print = fingerprint(entry);
    const first = this.appliedAt.get(entry.index);
    if (first === undefined) this.appliedAt.set(entry.index, { ...print, node });
    else if (!same(first, print)) {
      this.fail(`state machine safety: ${node} applied ${entry.index}@${entry.term}, ${first.node} applied ${entry.index}@${first.term}`);
    }
    const decided = this.committed.get(entry.index);
    if (decided !== undefined && !same(decided, print)) {
      this.fail(`state machine safety: ${node} applied ${entry.index}@${entry.term} but ${entry.index}@${decided.term} is committed`);
    }
  }

  /** A snapshot installed or taken at `meta`: its state must be the one every node reaches there. */
  snapshotAt(node: NodeId, meta: SnapshotMeta, data: Uint8Array): void {
    const image = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
    const first = this.snapshotImageAt.get(meta.index);
    if (first === undefined) this.snapshotImageAt.set(meta.index, { term: meta.term, image, node });
    else if (first.term !== meta.term || first.image !== image) {
      this.fail(`state machine safety: ${node} and ${first.node} hold different snapshots at index ${meta.index}`);
    }
    const decided = this.committed.get(meta.index) ?? this.appliedAt.get(meta.index);
    if (decided !== undefined && decided.term !== meta.term) {
      this.fail(`state machine safety: ${node} snapshot ${meta.index}@${meta.term} but ${meta.index}@${decided.term} was decided`);
    }
  }

  /** After every simulation step: commit indexes against durable logs, and leader completeness. */
  checkNodes(nodes: readonly NodeView[]): void {
    for (const node of nodes) {
      const status = node.safetyStatus();
      if (status === null || !status.settled) continue;
      if (status.role === 'leader') this.roleObserved(node.id, 'leader', status.term);
      if (status.hostApplied > status.commit) {
        this.fail(`${node.id} applied ${status.hostApplied} beyond its commit ${status.commit}`);
      }
      this.checkCommitted(node, status.commit, status.term);
      if (status.role === 'leader') this.checkLeaderCompleteness(node, status.term);
    }
    this.checkElectable(nodes);
  }

  /**
   * Leader completeness for every possible future leader (Raft 5.4.3): a node wins an election
   * only with votes from a majority whose logs are no more up to date than its own (5.4.1), so a
   * node lacking the highest committed entry must never have a durable log at least as up to date
   * as a majority's. Crashed nodes count too: their durable logs vote again after a restart.
   */
  private checkElectable(nodes: readonly NodeView[]): void {
    const index = this.highestCommitted;
    const decided = this.committed.get(index);
    if (decided === undefined) return;
    const quorum = Math.floor(nodes.length / 2) + 1;
    const lastOf = nodes.map((node) => {
      const lastIndex = node.store.lastIndex();
      return { lastIndex, lastTerm: node.store.term(lastIndex) ?? 0 };
    });
    nodes.forEach((node, i) => {
      if ((node.store.snapshot()?.meta.index ?? 0) >= index) return;
      const entry = node.store.entry(index);
      if (entry !== undefined && same(fingerprint(entry), decided)) return;
      const mine = lastOf[i];
      const outvoted = lastOf.filter(
        (other) => mine.lastTerm > other.lastTerm || (mine.lastTerm === other.lastTerm && mine.lastIndex >= other.lastIndex),
      );
      if (outvoted.length < quorum) return;
      const key = `${node.id}/${index}`;
      if (this.electableReported.has(key)) return;
      this.electableReported.add(key);
      const held = entry === undefined ? 'nothing' : `${index}@${entry.term}`;
      this.fail(
        `leader completeness: ${node.id} could be elected (last ${mine.lastIndex}@${mine.lastTerm}, as up to date as ${outvoted.length} logs)` +
          ` holding ${held} at committed ${index}@${decided.term}`,
      );
    });
  }

  private checkCommitted(node: NodeView, commit: number, term: number): void {
    const snapshotIndex = node.store.snapshot()?.meta.index ?? 0;
    let progress = this.checkedCommit.get(node.id);
    if (progress === undefined || progress.incarnation !== node.incarnation) {
      // A restarted node: re-verify its whole durable log from its snapshot on.
      progress = { incarnation: node.incarnation, upTo: snapshotIndex, lastCommit: 0 };
      this.checkedCommit.set(node.id, progress);
    }
    if (commit < progress.lastCommit) this.fail(`${node.id} commit index went back from ${progress.lastCommit} to ${commit}`);
    progress.lastCommit = commit;
    if (commit > node.store.lastIndex()) {
      this.fail(`${node.id} commit ${commit} is beyond its durable log (last ${node.store.lastIndex()})`);
      return;
    }
    for (let index = Math.max(progress.upTo, snapshotIndex) + 1; index <= commit; index++) {
      const entry = node.store.entry(index);
      if (entry === undefined) {
        this.fail(`${node.id} committed index ${index} is missing from its durable log`);
        return;
      }
      const print = fingerprint(entry);
      const decided = this.committed.get(index);
      if (decided === undefined) {
        this.committed.set(index, { ...print, committedInTerm: term });
        this.highestCommitted = Math.max(this.highestCommitted, index);
      } else if (!same(decided, print)) {
        this.fail(`committed entry changed: ${node.id} has ${index}@${entry.term} committed, earlier ${index}@${decided.term}`);
      }
    }
    progress.upTo = Math.max(progress.upTo, commit);
  }

  /**
   * Raft paper 5.4.1: once per (leader, term), its log must hold every entry committed in an
   * earlier term. (A stale leader may win a late election after later terms committed more.)
   */
  private checkLeaderCompleteness(node: NodeView, term: number): void {
    const key = `${node.id}@${term}`;
    if (this.leadersChecked.has(key)) return;
    this.leadersChecked.add(key);
    const snapshotIndex = node.store.snapshot()?.meta.index ?? 0;
    for (const [index, decided] of this.committed) {
      if (index <= snapshotIndex || decided.committedInTerm >= term) continue;
      const entry = node.store.entry(index);
      if (entry === undefined || !same(fingerprint(entry), decided)) {
        const held = entry === undefined ? 'nothing' : `${index}@${entry.term}`;
        this.fail(`leader completeness: ${node.id} leads term ${term} holding ${held} at committed ${index}@${decided.term}`);
        return;
      }
    }
  }

  private fail(message: string): void {
    this.violations.push(`tick ${this.now}: ${message}`);
  }
}
