import { invariant } from './invariant.js';

/**
 * How the leader replicates to one follower (etcd-raft's tracker):
 *  - probe: we do not know where the follower's log matches ours; one AppendEntries at a time,
 *    backing `next` off on each rejection;
 *  - replicate: the follower matches up to `match`; AppendEntries are pipelined optimistically,
 *    up to the inflight window;
 *  - snapshot: the follower needs entries we compacted away; nothing is sent until the snapshot
 *    is reported done or the follower answers it.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** The last index of each AppendEntries in flight to a follower, oldest first; bounded. */
export class Inflights {
  private readonly lastIndexes: number[] = [];

  constructor(readonly capacity: number) {}

  add(lastIndex: number): void {
    invariant(!this.full(), () => `inflight window of ${this.capacity} overflowed`);
    this.lastIndexes.push(lastIndex);
  }

  /** The follower acknowledged up to `index`: every message ending at or below it has landed. */
  freeLE(index: number): void {
    let k = 0;
    while (k < this.lastIndexes.length && (this.lastIndexes[k] as number) <= index) k++;
    this.lastIndexes.splice(0, k);
  }

  full(): boolean {
    return this.lastIndexes.length >= this.capacity;
  }

  count(): number {
    return this.lastIndexes.length;
  }

  reset(): void {
    this.lastIndexes.length = 0;
  }
}

/** The leader's view of one member. Invariant: match < next. */
export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** In probe state: an AppendEntries is out and unanswered; wait for a response or a heartbeat reply. */
  probeSent = false;
  /** In snapshot state: the index of the snapshot being streamed. */
  pendingSnapshot = 0;
  /** In snapshot state: leader ticks since the InstallSnapshot went out. */
  snapshotElapsedTicks = 0;
  /** Heard from within the current CheckQuorum period. */
  recentActive = false;
  /** In replicate state: `match` when the previous heartbeat reply came (-1: none yet). */
  matchAtLastHeartbeatReply = -1;
  /** In replicate state: the last index already sent (next - 1) when the previous heartbeat reply came. */
  sentAtLastHeartbeatReply = 0;
  /** The highest commit index sent to this member (in an append or a heartbeat). */
  sentCommit = 0;
  /** The highest Heartbeat.context this member acknowledged (ReadIndex rounds). */
  readAckContext = 0;
  readonly inflights: Inflights;

  constructor(next: number, maxInflightAppends: number) {
    this.next = next;
    this.inflights = new Inflights(maxInflightAppends);
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }

  becomeProbe(): void {
    // After a snapshot, the follower holds at least the snapshot: probe just past it.
    this.next = this.state === 'snapshot' ? Math.max(this.match + 1, this.pendingSnapshot + 1) : this.match + 1;
    this.state = 'probe';
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflights.reset();
  }

  becomeReplicate(): void {
    this.matchAtLastHeartbeatReply = -1;
    this.sentAtLastHeartbeatReply = 0;
    this.next = this.match + 1;
    this.state = 'replicate';
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflights.reset();
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.state = 'snapshot';
    this.probeSent = false;
    this.pendingSnapshot = snapshotIndex;
    this.snapshotElapsedTicks = 0;
    this.inflights.reset();
  }

  /**
   * In replicate state, on each heartbeat reply: true when entries were already sent and unacknowledged
   * at the previous reply and `match` has not moved since. Pipelined appends can be lost with nothing
   * left to reveal the gap (no later append for the follower to reject); a whole heartbeat round
   * without an ack for them means they are presumed lost and the leader should probe again.
   * Entries sent after the previous reply do not count: their acks may simply still be in flight.
   */
  appendsStalledSinceLastHeartbeatReply(): boolean {
    const stalled = this.match === this.matchAtLastHeartbeatReply && this.sentAtLastHeartbeatReply > this.match;
    this.matchAtLastHeartbeatReply = this.match;
    this.sentAtLastHeartbeatReply = this.next - 1;
    return stalled;
  }

  /**
   * Whether an empty append carrying `commit` would tell the follower something: its commit can
   * rise at most to next-1, and once we sent a commit that covers next-1 there is nothing to add.
   */
  canBumpCommit(commit: number): boolean {
    return commit > this.sentCommit && this.sentCommit < this.next - 1;
  }

  noteSentCommit(commit: number): void {
    this.sentCommit = Math.max(this.sentCommit, commit);
  }

  /** A success acknowledging `index`; false if it tells us nothing new (stale or duplicate). */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (index > this.match) {
      this.match = index;
      this.probeSent = false;
      updated = true;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /** An AppendEntries ending at `lastIndex` (or empty, if undefined) went out. */
  sentAppend(lastIndex: number | undefined): void {
    if (this.state === 'replicate') {
      if (lastIndex !== undefined) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  /**
   * The follower rejected an AppendEntries whose prevLogIndex was `rejected`; `probeIndex` is the
   * leader's best guess of the last matching index. False when the rejection is stale (answers a
   * message older than what we already learned).
   */
  maybeDecrTo(rejected: number, probeIndex: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // Probing sends one message at a time: a rejection for anything but next-1 is stale.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, probeIndex + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }
}
