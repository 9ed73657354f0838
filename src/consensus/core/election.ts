import type { Message, RequestVote } from './messages.js';
import type { Raft } from './raft.js';
import { handleAppendEntries, handleHeartbeat, handleInstallSnapshot } from './replication.js';

/**
 * Elections: the follower and (pre-)candidate step functions, vote requests and vote granting
 * (Raft §5.2, §5.4.1; thesis 3.10 for TimeoutNow, 9.6 for PreVote and the leader lease on votes).
 */

/**
 * True while this node heard from a leader (or, as leader, from a quorum) within the minimum
 * election timeout: it then ignores vote requests that would depose a healthy leader.
 */
export function isInLease(r: Raft): boolean {
  if (r.leaderId === null || r.electionElapsed >= r.limits.electionTicksMin) return false;
  // A leader's lease rests on CheckQuorum (it steps down when cut off); a follower's on having
  // heard from the leader recently, which PreVote needs to stop a rejoining node's disruption.
  return r.role === 'leader' ? r.limits.checkQuorum : r.limits.checkQuorum || r.limits.preVote;
}

/** Starts an election: a PreVote round first unless disabled or the leader handed over (transfer). */
export function campaign(r: Raft, transfer: boolean): void {
  if (r.limits.preVote && !transfer) {
    r.becomePreCandidate();
    requestVotes(r, true, false);
  } else {
    r.becomeCandidate();
    requestVotes(r, false, transfer);
  }
}

function requestVotes(r: Raft, preVote: boolean, transfer: boolean): void {
  // A pre-vote asks about the term we would campaign at; a vote about the term we are in.
  const term = preVote ? r.term + 1 : r.term;
  r.votes.set(r.id, true);
  if (maybeConcludeElection(r)) return; // a single-node cluster wins on its own vote
  for (const to of r.voters) {
    if (to === r.id) continue;
    r.send({
      type: 'RequestVote',
      to,
      term,
      preVote,
      lastLogIndex: r.log.lastIndex(),
      lastLogTerm: r.log.lastTerm(),
      transfer,
    });
  }
}

/**
 * Grants or refuses a vote (any role). Raft §5.4.1: only to a candidate whose log is at least as
 * up to date as ours. The grant goes out in a Ready whose hardState (term, vote) the host persists
 * before sending it.
 */
export function handleRequestVote(r: Raft, m: RequestVote): void {
  const canVote =
    r.vote === m.from ||
    (r.vote === null && r.leaderId === null) ||
    // A pre-vote for a later term binds nothing: grant it whenever the log check passes.
    (m.preVote && m.term > r.term);
  if (canVote && r.log.isUpToDate(m.lastLogIndex, m.lastLogTerm)) {
    r.send({ type: 'RequestVoteResponse', to: m.from, term: m.term, preVote: m.preVote, granted: true });
    if (!m.preVote) {
      r.vote = m.from;
      r.electionElapsed = 0;
    }
  } else {
    r.send({ type: 'RequestVoteResponse', to: m.from, preVote: m.preVote, granted: false });
  }
}

export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case 'AppendEntries':
      r.electionElapsed = 0;
      r.leaderId = m.from;
      handleAppendEntries(r, m);
      return;
    case 'Heartbeat':
      r.electionElapsed = 0;
      r.leaderId = m.from;
      handleHeartbeat(r, m);
      return;
    case 'InstallSnapshot':
      r.electionElapsed = 0;
      r.leaderId = m.from;
      handleInstallSnapshot(r, m);
      return;
    case 'TimeoutNow':
      // The leader hands over: campaign at once, skipping PreVote, and voters skip their lease.
      campaign(r, true);
      return;
    default:
      // Responses addressed to a role we no longer hold.
      return;
  }
}

/** The step function of both the pre-candidate and the candidate. */
export function stepCandidate(r: Raft, m: Message): void {
  switch (m.type) {
    case 'AppendEntries':
    case 'Heartbeat':
    case 'InstallSnapshot':
      // A leader exists for our term (m.term === r.term here): Raft §5.2, return to follower.
      r.becomeFollower(m.term, m.from);
      stepFollower(r, m);
      return;
    case 'RequestVoteResponse': {
      const preCandidate = r.role === 'pre-candidate';
      if (m.preVote !== preCandidate) return;
      // A granted pre-vote answers our current pre-vote round only if it names the term we would take.
      if (preCandidate && m.granted && m.term !== r.term + 1) return;
      if (!r.votes.has(m.from)) r.votes.set(m.from, m.granted);
      maybeConcludeElection(r);
      return;
    }
    default:
      return;
  }
}

/** Wins (pre-candidate -> candidate -> leader) or loses (-> follower) once a quorum has answered. */
function maybeConcludeElection(r: Raft): boolean {
  let granted = 0;
  let rejected = 0;
  for (const v of r.votes.values()) {
    if (v) granted++;
    else rejected++;
  }
  const quorum = r.quorum();
  if (granted >= quorum) {
    if (r.role === 'pre-candidate') {
      // The pre-vote passed: now the real election, still subject to the voters' leases.
      r.becomeCandidate();
      requestVotes(r, false, false);
    } else {
      r.becomeLeader();
    }
    return true;
  }
  if (rejected > r.voters.length - quorum) {
    r.becomeFollower(r.term, null);
    return true;
  }
  return false;
}
