import type {
  AppendEntries,
  AppendEntriesResponse,
  Heartbeat,
  HeartbeatResponse,
  InstallSnapshot,
  Message,
  NodeId,
} from './messages.js';
import type { Raft } from './raft.js';
import type { Progress } from './progress.js';
import { invariant } from './invariant.js';

/**
 * Log replication (Raft §5.3): the leader's step function, per-follower sending with probe /
 * replicate / snapshot progress and an inflight window, the commit rule, and the follower's side
 * of AppendEntries, Heartbeat and InstallSnapshot.
 */

export function stepLeader(r: Raft, m: Message): void {
  switch (m.type) {
    case 'AppendEntriesResponse':
      handleAppendResponse(r, m);
      return;
    case 'HeartbeatResponse':
      handleHeartbeatResponse(r, m);
      return;
    case 'AppendEntries':
    case 'Heartbeat':
    case 'InstallSnapshot':
      // Election safety (Raft fig. 3): at most one leader per term.
      invariant(false, () => `${r.id} leads term ${r.term} but got ${m.type} from ${m.from} for the same term`);
      return;
    default:
      // Vote responses arriving after we won; TimeoutNow is for followers.
      return;
  }
}

function progressOf(r: Raft, id: NodeId): Progress {
  const pr = r.progress.get(id);
  invariant(pr !== undefined, () => `no progress for member ${id}`);
  return pr;
}

/**
 * Sends `to` what it is missing: entries from its next index (bounded by count and bytes), or
 * the snapshot if they are compacted away. False if nothing went out (paused, or nothing new and
 * !sendIfEmpty).
 */
export function sendAppend(r: Raft, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = progressOf(r, to);
  if (pr.isPaused()) return false;
  const prevLogIndex = pr.next - 1;
  invariant(prevLogIndex <= r.log.lastIndex(), () =>
    `progress of ${to}: next ${pr.next} is past the leader's last index ${r.log.lastIndex()}`,
  );
  const prevLogTerm = r.log.term(prevLogIndex);
  if (prevLogTerm === undefined) {
    // The follower needs entries we compacted away (next <= firstIndex - 1).
    const snapshot = r.log.snapshotMeta();
    r.send({ type: 'InstallSnapshot', to, snapshot });
    pr.becomeSnapshot(snapshot.index);
    return true;
  }
  const entries = r.log.entriesFrom(pr.next, r.limits.maxEntriesPerAppend, r.limits.maxBytesPerAppend);
  if (entries.length === 0 && !sendIfEmpty && (r.limits.deferCommitOnlyAppends || !pr.canBumpCommit(r.log.committed))) return false;
  r.send({ type: 'AppendEntries', to, prevLogIndex, prevLogTerm, entries, commit: r.log.committed });
  pr.sentAppend(entries[entries.length - 1]?.index);
  pr.noteSentCommit(r.log.committed);
  return true;
}

/** Sends to `to` until its window is full or it has everything (including our commit index). */
function sendAppendsUntilPaused(r: Raft, to: NodeId, sendIfEmpty: boolean): void {
  if (!sendAppend(r, to, sendIfEmpty)) return;
  while (sendAppend(r, to, false)) {
    // Each call sends one batch; replicate state pipelines up to maxInflightAppends of them.
  }
}

export function bcastAppend(r: Raft, sendIfEmpty: boolean): void {
  for (const id of r.voters) {
    if (id !== r.id) sendAppendsUntilPaused(r, id, sendIfEmpty);
  }
}

/**
 * With deferCommitOnlyAppends, on each leader tick: an empty append carrying the commit index to
 * each replicating follower that has not been sent it yet (appends carrying entries, and
 * heartbeats, tell it too). Paused followers learn it once their window frees.
 */
export function bcastCommit(r: Raft): void {
  for (const id of r.voters) {
    if (id === r.id) continue;
    const pr = progressOf(r, id);
    if (pr.state === 'replicate' && pr.canBumpCommit(r.log.committed)) sendAppend(r, id, true);
  }
}

export function bcastHeartbeat(r: Raft, context: number): void {
  for (const id of r.voters) {
    if (id === r.id) continue;
    // Never tell a follower to commit past what it is known to hold.
    const pr = progressOf(r, id);
    const commit = Math.min(pr.match, r.log.committed);
    r.send({ type: 'Heartbeat', to: id, commit, context });
    pr.noteSentCommit(commit);
  }
}

export function sendTimeoutNow(r: Raft, to: NodeId): void {
  r.send({ type: 'TimeoutNow', to });
}

/**
 * The commit rule (Raft §5.3, §5.4.2 and fig. 8): the highest index a quorum holds, counting the
 * leader only for what it persisted, and only if that entry is of the leader's own term; earlier
 * terms' entries then commit with it by the log matching property.
 */
export function maybeCommit(r: Raft): boolean {
  const matches = r.voters.map((id) => progressOf(r, id).match).sort((a, b) => b - a);
  const quorumIndex = matches[r.quorum() - 1] as number;
  if (quorumIndex <= r.log.committed || r.log.term(quorumIndex) !== r.term) return false;
  return r.log.commitTo(quorumIndex);
}

/**
 * After the leader's commit index moved: release waiting reads, send what the followers are
 * missing (with deferCommitOnlyAppends, only appends carrying entries; see bcastCommit).
 */
export function onCommitAdvanced(r: Raft): void {
  if (r.committedInCurrentTerm()) {
    for (const context of r.reads.takeWaitingForCommit()) r.registerRead(context);
  }
  bcastAppend(r, false);
}

function handleAppendResponse(r: Raft, m: AppendEntriesResponse): void {
  const pr = progressOf(r, m.from);
  pr.recentActive = true;
  if (!m.success) {
    // Without rejectedIndex the answer only carried a term (see Raft.stepLowerTerm).
    if (m.rejectedIndex === undefined) return;
    const hint = m.rejectHint;
    let probeIndex = m.rejectedIndex - 1;
    if (hint !== undefined) {
      // Fast backtracking: skip every entry of ours whose term is newer than the follower's
      // term at conflictIndex, i.e. a whole conflicting term per round trip.
      probeIndex = hint.conflictTerm > 0 ? r.log.findConflictByTerm(hint.conflictIndex, hint.conflictTerm).index : hint.conflictIndex;
    }
    if (pr.maybeDecrTo(m.rejectedIndex, probeIndex)) {
      if (pr.state === 'replicate') pr.becomeProbe();
      sendAppend(r, m.from, true);
    }
    return;
  }
  if (!pr.maybeUpdate(m.matchIndex)) return; // stale or duplicate
  switch (pr.state) {
    case 'probe':
      pr.becomeReplicate();
      break;
    case 'snapshot':
      // The follower holds the snapshot (or more): continue from the log if we still have it.
      if (pr.match + 1 >= r.log.firstIndex()) {
        pr.becomeProbe();
        pr.becomeReplicate();
      }
      break;
    case 'replicate':
      pr.inflights.freeLE(pr.match);
      break;
  }
  if (maybeCommit(r)) onCommitAdvanced(r);
  sendAppendsUntilPaused(r, m.from, false);
  if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) sendTimeoutNow(r, m.from);
}

function handleHeartbeatResponse(r: Raft, m: HeartbeatResponse): void {
  const pr = progressOf(r, m.from);
  pr.recentActive = true;
  if (pr.state === 'probe') {
    // The follower is reachable: probe again (the previous probe or its answer may be lost).
    pr.probeSent = false;
    sendAppend(r, m.from, true);
  } else if (pr.state === 'replicate' && pr.appendsStalledSinceLastHeartbeatReply()) {
    // Appends unacknowledged for a whole heartbeat round are presumed lost: re-probe from
    // match+1. (Probing on every reply would misfire while acks are merely in flight.)
    pr.becomeProbe();
    sendAppend(r, m.from, true);
  }
  // A transfer target that is up to date yet still follows: its TimeoutNow may have been lost.
  // Again is harmless: once the target campaigns its term is past ours and it ignores ours.
  if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) sendTimeoutNow(r, m.from);

  if (m.context > pr.readAckContext) {
    pr.readAckContext = m.context;
    const released = r.reads.releaseConfirmed(r.voters, r.quorum(), (id) =>
      id === r.id ? Number.POSITIVE_INFINITY : progressOf(r, id).readAckContext,
    );
    r.readStates.push(...released);
  }
}

// ---------------- the follower's side ----------------

export function handleAppendEntries(r: Raft, m: AppendEntries): void {
  if (m.prevLogIndex < r.log.committed) {
    // Old news (a duplicate or delayed append): everything up to our commit matches the leader.
    r.send({ type: 'AppendEntriesResponse', to: m.from, success: true, matchIndex: r.log.committed });
    return;
  }
  const lastNewIndex = r.log.maybeAppend(m.prevLogIndex, m.prevLogTerm, m.commit, m.entries);
  if (lastNewIndex !== null) {
    r.send({ type: 'AppendEntriesResponse', to: m.from, success: true, matchIndex: lastNewIndex });
    return;
  }
  // Consistency check failed. Hint the largest index whose term is <= prevLogTerm: every entry
  // of ours above it has a newer term than the leader's entry there, so cannot match.
  const hint = r.log.findConflictByTerm(Math.min(m.prevLogIndex, r.log.lastIndex()), m.prevLogTerm);
  r.send({
    type: 'AppendEntriesResponse',
    to: m.from,
    success: false,
    matchIndex: 0,
    rejectedIndex: m.prevLogIndex,
    rejectHint: { conflictIndex: hint.index, conflictTerm: hint.term },
  });
}

export function handleHeartbeat(r: Raft, m: Heartbeat): void {
  r.log.commitTo(m.commit);
  r.send({ type: 'HeartbeatResponse', to: m.from, context: m.context });
}

export function handleInstallSnapshot(r: Raft, m: InstallSnapshot): void {
  const snapshot = m.snapshot;
  if (snapshot.index <= r.log.committed) {
    // Stale: we are past it already.
    r.send({ type: 'AppendEntriesResponse', to: m.from, success: true, matchIndex: r.log.committed });
    return;
  }
  if (r.log.matchTerm(snapshot.index, snapshot.term)) {
    // Our log already holds the snapshot's last entry: keep what follows it (we may have
    // acknowledged it, and the leader may have counted it toward commit).
    r.log.commitTo(snapshot.index);
    r.send({ type: 'AppendEntriesResponse', to: m.from, success: true, matchIndex: snapshot.index });
    return;
  }
  r.log.restore(snapshot);
  r.voters = [...snapshot.config.voters];
  // Sent after the host persisted the snapshot (Ready order).
  r.send({ type: 'AppendEntriesResponse', to: m.from, success: true, matchIndex: snapshot.index });
}
