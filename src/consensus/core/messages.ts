/**
 * The values the Raft core exchanges with its host: log entries, the hard state the host
 * must persist, and the peer messages it must deliver. Plain data, so the host can encode
 * them for the wire and the WAL, and the simulator can copy, drop and reorder them.
 */

export type NodeId = string;

/** Every peer message carries this, so a node can refuse a peer speaking another version. */
export const PROTOCOL_VERSION = 1;

export type EntryType = 'command' | 'noop';

export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  /** Opaque to the core: the state machine's command, encoded by the host. Empty for a noop. */
  readonly data: Uint8Array;
}

/** What must be durable before the node votes, acknowledges or answers (Raft fig. 2, "persistent state"). */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId | null;
  /** Kept so a restarted node can apply up to here without waiting for a leader. */
  readonly commit: number;
}

/** The voters of the cluster. A value, so membership changes can come later. */
export interface ClusterConfig {
  readonly voters: readonly NodeId[];
}

/** Describes a snapshot; the bytes stay with the host (file on disk, chunked over the wire). */
export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly config: ClusterConfig;
}

interface MessageBase {
  readonly version: number;
  readonly from: NodeId;
  readonly to: NodeId;
  /** The sender's term (for a PreVote request: the term it would campaign at). */
  readonly term: number;
}

export interface RequestVote extends MessageBase {
  readonly type: 'RequestVote';
  readonly preVote: boolean;
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  /** Set when campaigning because of TimeoutNow: voters skip the leader-lease check. */
  readonly transfer: boolean;
}

export interface RequestVoteResponse extends MessageBase {
  readonly type: 'RequestVoteResponse';
  readonly preVote: boolean;
  readonly granted: boolean;
}

export interface AppendEntries extends MessageBase {
  readonly type: 'AppendEntries';
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

export interface AppendEntriesResponse extends MessageBase {
  readonly type: 'AppendEntriesResponse';
  readonly success: boolean;
  /** On success: the last index the follower now holds that matches the leader. */
  readonly matchIndex: number;
  /** On rejection: where the leader should probe next (fast backtracking, Raft thesis 5.3). */
  readonly rejectHint?: { readonly conflictIndex: number; readonly conflictTerm: number };
  /**
   * On rejection: the prevLogIndex of the AppendEntries being rejected, so the leader can tell a
   * stale rejection from a current one. Absent on a reply that only carries the responder's term
   * (to an AppendEntries or Heartbeat from an older term).
   */
  readonly rejectedIndex?: number;
}

/** Leader's liveness beacon; `context` confirms leadership for ReadIndex rounds. */
export interface Heartbeat extends MessageBase {
  readonly type: 'Heartbeat';
  readonly commit: number;
  readonly context: number;
}

export interface HeartbeatResponse extends MessageBase {
  readonly type: 'HeartbeatResponse';
  readonly context: number;
}

/**
 * Leader -> follower whose next entry is compacted away. The core names the snapshot; the host
 * streams its bytes in chunks and steps this message into the receiving core once all arrived.
 */
export interface InstallSnapshot extends MessageBase {
  readonly type: 'InstallSnapshot';
  readonly snapshot: SnapshotMeta;
}

/** Leadership transfer: the target campaigns at once (Raft thesis 3.10). */
export interface TimeoutNow extends MessageBase {
  readonly type: 'TimeoutNow';
}

export type Message =
  | RequestVote
  | RequestVoteResponse
  | AppendEntries
  | AppendEntriesResponse
  | Heartbeat
  | HeartbeatResponse
  | InstallSnapshot
  | TimeoutNow;

export type MessageType = Message['type'];
