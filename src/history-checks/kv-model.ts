/**
 * The reference model of SPEC 2's key-value semantics, pure (no I/O, no clock), shared by the
 * checkers of the simulator (test/sim) and of the chaos run (src/chaos):
 *  - `executeOnValue`: the single-key sequential specification the linearizability checker
 *    replays; it must answer exactly as src/kv/kv-state-machine.ts executes a command;
 *  - `KvModel`: a whole state machine with client sessions, which the simulator runs in its
 *    nodes; it stands in for the real one in src/kv + src/sessions behind `KvStateMachine`.
 *
 * Exactly-once (SPEC 2): a write carrying clientId+seq is executed at most once. A retry of the
 * client's latest applied seq gets the first answer back; an older seq answers stale_sequence.
 * Dedup happens here, in the replicated apply, so every replica decides the same (STYLE habit 8).
 */

export type KvReadOp = { readonly kind: 'get'; readonly key: string };
export type KvWriteOp =
  | { readonly kind: 'put'; readonly key: string; readonly value: string }
  | { readonly kind: 'append'; readonly key: string; readonly value: string }
  | { readonly kind: 'delete'; readonly key: string }
  | { readonly kind: 'cas'; readonly key: string; readonly expected: string | null; readonly value: string };
export type KvOp = KvReadOp | KvWriteOp;

/** What a client is told. `value` is the value after the operation (null: absent). */
export type KvResult =
  | { readonly kind: 'get'; readonly value: string | null }
  | { readonly kind: 'put'; readonly value: string }
  | { readonly kind: 'append'; readonly value: string }
  | { readonly kind: 'delete'; readonly deleted: boolean }
  | { readonly kind: 'cas'; readonly succeeded: boolean; readonly value: string | null }
  | { readonly kind: 'stale_sequence' };

/** A write as it travels through the log. */
export interface KvCommand {
  readonly clientId: string;
  readonly seq: number;
  readonly op: KvWriteOp;
}

export interface KvApplyOutcome {
  readonly result: KvResult;
  /** True when the session table answered from its cache instead of executing the write. */
  readonly deduplicated: boolean;
}

/** The seam between a sim node and a state machine; the real src/kv one can implement it too. */
export interface KvStateMachine {
  /** Applies one committed command entry's data. Deterministic: same data, same state, same outcome. */
  apply(data: Uint8Array): KvApplyOutcome;
  /** Local read of the applied state (the host calls it only once a ReadIndex is satisfied). */
  read(key: string): string | null;
  /** Deterministic bytes of the whole state, sessions included: equal states give equal bytes. */
  snapshot(): Uint8Array;
  restore(data: Uint8Array): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeCommand(command: KvCommand): Uint8Array {
  return encoder.encode(JSON.stringify(command));
}

export function decodeCommand(data: Uint8Array): KvCommand {
  return JSON.parse(decoder.decode(data)) as KvCommand;
}

interface Session {
  readonly seq: number;
  readonly result: KvResult;
}

interface ModelSnapshot {
  readonly kv: [string, string][];
  readonly sessions: [string, Session][];
}

/** Pure function of the current value: the single-key semantics shared with the linearizability model. */
export function executeOnValue(current: string | null, op: KvOp): { next: string | null; result: KvResult } {
  switch (op.kind) {
    case 'get':
      return { next: current, result: { kind: 'get', value: current } };
    case 'put':
      return { next: op.value, result: { kind: 'put', value: op.value } };
    case 'append': {
      const next = (current ?? '') + op.value;
      return { next, result: { kind: 'append', value: next } };
    }
    case 'delete':
      return { next: null, result: { kind: 'delete', deleted: current !== null } };
    case 'cas':
      if (current === op.expected) return { next: op.value, result: { kind: 'cas', succeeded: true, value: op.value } };
      return { next: current, result: { kind: 'cas', succeeded: false, value: current } };
  }
}

export class KvModel implements KvStateMachine {
  private kv = new Map<string, string>();
  private sessions = new Map<string, Session>();

  apply(data: Uint8Array): KvApplyOutcome {
    const command = decodeCommand(data);
    const session = this.sessions.get(command.clientId);
    if (session !== undefined && command.seq === session.seq) return { result: session.result, deduplicated: true };
    if (session !== undefined && command.seq < session.seq) return { result: { kind: 'stale_sequence' }, deduplicated: true };
    const { next, result } = executeOnValue(this.kv.get(command.op.key) ?? null, command.op);
    if (next === null) this.kv.delete(command.op.key);
    else this.kv.set(command.op.key, next);
    this.sessions.set(command.clientId, { seq: command.seq, result });
    return { result, deduplicated: false };
  }

  read(key: string): string | null {
    return this.kv.get(key) ?? null;
  }

  snapshot(): Uint8Array {
    // Sorted so that equal states always give equal bytes, whatever the insertion order.
    const byKey = <V>(a: [string, V], b: [string, V]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    const image: ModelSnapshot = { kv: [...this.kv].sort(byKey), sessions: [...this.sessions].sort(byKey) };
    return encoder.encode(JSON.stringify(image));
  }

  restore(data: Uint8Array): void {
    const image = JSON.parse(decoder.decode(data)) as ModelSnapshot;
    this.kv = new Map(image.kv);
    this.sessions = new Map(image.sessions);
  }
}
