import type { Entry, HardState, Message, NodeId, SnapshotMeta } from './messages.js';

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

export interface SoftState {
  readonly role: Role;
  readonly leaderId: NodeId | null;
}

/** A linearizable read may be served once the state machine has applied `index`. */
export interface ReadState {
  readonly context: string;
  readonly index: number;
}

/**
 * What the host must do, in this order (STYLE: persist before you speak):
 *  1. persist `snapshot` (if any), then `entries` (truncating any suffix from entries[0].index),
 *     then `hardState`, all fsync'd. A `snapshot` here was installed from the leader and
 *     replaces the log: discard the stored entries (Raft fig. 13: those after snapshot.index may be
 *     kept only if the stored entry at snapshot.index has snapshot.term; entries kept after a
 *     non-matching prefix would break the log matching property after a restart);
 *  2. send `messages`;
 *  3. apply `committedEntries` (after restoring `snapshot`, if any) in order;
 *  4. serve `readStates` once applied >= their index;
 *  5. call `advance(ready)`.
 * The leader may send `messages` of type AppendEntries before step 1 completes: it counts
 * itself toward commit only after advance() (Raft thesis 10.2.1).
 */
export interface Ready {
  readonly softState?: SoftState;
  readonly hardState?: HardState;
  readonly snapshot?: SnapshotMeta;
  readonly entries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
}
