/**
 * The replicated KV command (the data of a Raft log entry) and the answers its apply gives.
 * Every field a replica needs to decide is inside the command: `timeMs` is stamped by the
 * leader when it proposes, so the state machine never reads a clock (STYLE habit 9).
 * The answer shapes are SPEC section 2's JSON bodies, field for field.
 */

/** Present together or not at all: the exactly-once key of a client's write (SPEC 2). */
export interface ClientSequence {
  readonly clientId?: string;
  /** Increases by one or more with each of the client's writes; a non-negative safe integer. */
  readonly seq?: number;
}

interface StampedCommand {
  /** Leader's wall clock at proposal, in ms since the epoch; drives session expiry. */
  readonly timeMs: number;
}

export interface PutCommand extends ClientSequence, StampedCommand {
  readonly op: 'put';
  readonly key: string;
  readonly value: string;
}

export interface AppendCommand extends ClientSequence, StampedCommand {
  readonly op: 'append';
  readonly key: string;
  readonly value: string;
}

export interface DeleteCommand extends ClientSequence, StampedCommand {
  readonly op: 'delete';
  readonly key: string;
}

export interface CasCommand extends ClientSequence, StampedCommand {
  readonly op: 'cas';
  readonly key: string;
  /** null: succeed only if the key is absent (create-if-absent). */
  readonly expected: string | null;
  readonly value: string;
}

/**
 * Session housekeeping, proposed by a leader when it takes office and then now and again:
 * it advances the replicated log time (so idle sessions expire even when no client writes)
 * and makes the leader's session limits the cluster's, so replicas started with different
 * flags still decide alike from this entry on.
 */
export interface SessionsCommand extends StampedCommand {
  readonly op: 'sessions';
  readonly sessionTtlMs: number;
  readonly sessionsMax: number;
}

export type KvWriteCommand = PutCommand | AppendCommand | DeleteCommand | CasCommand;
export type KvCommand = KvWriteCommand | SessionsCommand;
export type KvOp = KvCommand['op'];

/** `PUT /kv/{key}` and `POST /kv/{key}/append` (value = the whole new value). */
export interface PutAnswer {
  readonly key: string;
  readonly value: string;
  readonly index: number;
}

export interface DeleteAnswer {
  readonly key: string;
  /** Whether the key existed. */
  readonly deleted: boolean;
  readonly index: number;
}

export interface CasAnswer {
  readonly key: string;
  readonly succeeded: boolean;
  /** The value after the apply: the new one on success, the unchanged one (null if absent) on failure. */
  readonly value: string | null;
  readonly index: number;
}

/** Answer to a SessionsCommand; internal, never sent to a client. */
export interface SessionsAnswer {
  readonly index: number;
  readonly sessions: number;
  readonly expired: number;
}

export type KvWriteAnswer = PutAnswer | DeleteAnswer | CasAnswer;

/** `GET /kv/{key}`. */
export interface GetAnswer {
  readonly key: string;
  readonly value: string;
  readonly index: number;
}

/** `GET /kv?prefix=p&limit=n`. */
export interface ListAnswer {
  readonly items: { readonly key: string; readonly value: string }[];
  readonly index: number;
}

/**
 * What apply returns. `duplicate`: the command was a retry (same clientId and seq as that
 * client's latest applied write) and `answer` is the first answer, not a new application.
 */
export type KvApplyResult =
  | { readonly ok: true; readonly answer: KvWriteAnswer; readonly duplicate: boolean }
  | { readonly ok: true; readonly answer: SessionsAnswer; readonly duplicate: false }
  | {
      readonly ok: false;
      /** SPEC: 409 `stale_sequence`. Nothing was applied. */
      readonly error: 'stale_sequence';
      readonly message: string;
      readonly latestSeq: number;
    };
