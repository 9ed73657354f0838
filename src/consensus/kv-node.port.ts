import type { KvWriteAnswer, KvWriteCommand } from '../kv/commands.js';
import type { KvStateMachine } from '../kv/kv-state-machine.js';
import type { Role } from './core/ready.js';

/**
 * What the HTTP layer (KV controller, admin) needs from the node hosting Raft. The consensus
 * host implements it; controllers depend on this abstract class only, so they can be unit
 * tested with a fake and the host can change without touching them.
 */

/** A write or read that this node cannot serve because another node leads. Forward it there. */
export class NotLeaderError extends Error {
  constructor(
    readonly leaderId: string | null,
    /** Where the leader serves the client API, if known. */
    readonly leaderUrl: string | null,
  ) {
    super(leaderId ? `not the leader; the leader is ${leaderId}` : 'no leader is known');
  }
}

/** 503: no leader known, no quorum, or too many pending proposals. The write was NOT applied. */
export class UnavailableError extends Error {
  constructor(
    readonly code: 'no_leader' | 'unavailable',
    message: string,
    readonly retryAfterSeconds = 1,
  ) {
    super(message);
  }
}

/** 504: proposed but not known to be committed in time. Outcome unknown: retry with the same clientId+seq. */
export class CommitTimeoutError extends Error {}

/** 409 stale_sequence: the client's seq is below its latest applied one. Nothing was applied. */
export class StaleSequenceError extends Error {
  constructor(
    message: string,
    readonly latestSeq: number,
  ) {
    super(message);
  }
}

/** A write as the client API hands it over: any write command, without the leader's time stamp. */
export type KvWriteRequest = KvWriteCommand extends infer C ? (C extends KvWriteCommand ? Omit<C, 'timeMs'> : never) : never;

export interface NodeIdentity {
  readonly nodeId: string;
  readonly role: Role;
  readonly term: number;
  readonly leaderId: string | null;
}

/** SPEC 3: the body of `GET /admin/status`. */
export interface NodeStatus extends NodeIdentity {
  readonly id: string;
  readonly votedFor: string | null;
  readonly commitIndex: number;
  readonly lastApplied: number;
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  readonly snapshot: { readonly index: number; readonly term: number; readonly bytes: number };
  readonly wal: { readonly segments: number; readonly bytes: number; readonly firstIndex: number };
  readonly peers: readonly {
    readonly id: string;
    readonly url: string;
    readonly matchIndex: number;
    readonly nextIndex: number;
    readonly lastContactMs: number | null;
  }[];
  readonly keys: number;
  readonly sessions: number;
  readonly uptimeMs: number;
}

export abstract class KvNode {
  /** Who answers, for the X-Raft-Node / X-Raft-Leader / X-Raft-Term headers. */
  abstract identity(): NodeIdentity;
  /** The client API url of a member, for forwarding. */
  abstract memberUrl(id: string): string | null;
  /**
   * Proposes a write (the host stamps timeMs) and resolves with its answer once committed and
   * applied. Rejects with NotLeaderError, UnavailableError, CommitTimeoutError or StaleSequenceError.
   */
  abstract write(command: KvWriteRequest): Promise<KvWriteAnswer>;
  /**
   * Linearizable read barrier (ReadIndex): resolves once this node, as leader, has confirmed
   * its leadership and applied up to the read index; then read `stateMachine` directly.
   * Rejects with NotLeaderError, UnavailableError or CommitTimeoutError.
   */
  abstract readBarrier(): Promise<void>;
  /** The local state machine: read it directly for stale reads, or after readBarrier(). */
  abstract readonly stateMachine: KvStateMachine;
  abstract status(): NodeStatus;
  /** SPEC 3: `GET /health/ready`. */
  abstract isReady(): boolean;
  abstract takeSnapshot(): Promise<{ index: number; term: number; bytes: number }>;
  abstract transferLeadership(to?: string): Promise<{ from: string; to: string }>;
}
