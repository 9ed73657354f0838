import type { NodeId } from './messages.js';
import type { ReadState } from './ready.js';

/** A read waiting for its leadership-confirmation round. `index`: the commit index when it arrived. */
interface PendingRead {
  readonly context: string;
  readonly index: number;
}

/** One heartbeat round confirming leadership for the reads registered before it went out. */
interface ReadRound {
  readonly context: number;
  readonly reads: PendingRead[];
  /** Its heartbeats were handed to the host; reads arriving later need a newer round. */
  sent: boolean;
}

/**
 * ReadIndex (Raft thesis 6.4) on the leader. A read records the commit index when it arrives;
 * the leader then proves it was still leader after that moment by a heartbeat round that a quorum
 * acknowledges, and only then releases ReadState {context, index}. Reads arriving before the
 * leader committed an entry of its own term wait for that (its commit index may be stale).
 * Reads registered before the round's heartbeats leave share one round.
 *
 * Invariant: rounds are in increasing context order; a member acknowledging context c has
 * acknowledged every round <= c (each heartbeat carries the newest context).
 */
export class ReadIndexQueue {
  private waitingForCommit: string[] = [];
  private rounds: ReadRound[] = [];
  private lastContext = 0;

  /** The context the next heartbeat should carry. */
  currentContext(): number {
    return this.lastContext;
  }

  pendingCount(): number {
    return this.waitingForCommit.length + this.rounds.reduce((n, r) => n + r.reads.length, 0);
  }

  holdUntilCommit(context: string): void {
    this.waitingForCommit.push(context);
  }

  /** The reads held until the leader committed in its term, now to be registered. */
  takeWaitingForCommit(): string[] {
    const waiting = this.waitingForCommit;
    this.waitingForCommit = [];
    return waiting;
  }

  /** Registers a read; returns the round context if a new heartbeat round must go out, else null. */
  register(context: string, commitIndex: number): number | null {
    const open = this.rounds[this.rounds.length - 1];
    if (open !== undefined && !open.sent) {
      open.reads.push({ context, index: commitIndex });
      return null;
    }
    this.lastContext++;
    this.rounds.push({ context: this.lastContext, reads: [{ context, index: commitIndex }], sent: false });
    return this.lastContext;
  }

  markAllSent(): void {
    for (const round of this.rounds) round.sent = true;
  }

  /**
   * Releases every round a quorum has acknowledged. `ackContextOf` gives each voter's highest
   * acknowledged context (the leader itself counts as acknowledging everything).
   */
  releaseConfirmed(voters: readonly NodeId[], quorum: number, ackContextOf: (id: NodeId) => number): ReadState[] {
    const released: ReadState[] = [];
    while (this.rounds.length > 0) {
      const round = this.rounds[0] as ReadRound;
      const acks = voters.filter((id) => ackContextOf(id) >= round.context).length;
      if (acks < quorum) break;
      this.rounds.shift();
      for (const read of round.reads) released.push({ context: read.context, index: read.index });
    }
    return released;
  }

  /** Leadership lost: every pending read is dropped (the host fails them on the role change). */
  clear(): void {
    this.waitingForCommit = [];
    this.rounds = [];
  }
}
