import { describeOp, type HistoryOp } from './history.js';
import { executeOnValue, type KvResult } from './kv-model.js';

/**
 * Linearizability of a key-value history: the Wing-Gong search with Lowe's memoization, the
 * algorithm of Porcupine and Knossos. Every op touches one key and keys are independent, so the
 * history is checked one key at a time (linearizability is compositional: Herlihy & Wing, 1990).
 *
 * An op whose outcome is unknown gets a return time of +infinity and accepts any output: it may
 * be linearized anywhere after its invoke, and linearizing it after everything else is the same
 * as omitting it.
 */

export type KeyVerdict =
  | { readonly status: 'ok'; readonly key: string; readonly ops: number; readonly steps: number }
  | { readonly status: 'violation'; readonly key: string; readonly ops: number; readonly steps: number; readonly detail: string }
  | { readonly status: 'inconclusive'; readonly key: string; readonly ops: number; readonly steps: number };

export interface LinearizabilityReport {
  /** False only on a proven violation; an inconclusive key does not make it false. */
  readonly ok: boolean;
  readonly keys: readonly KeyVerdict[];
  readonly violations: readonly Extract<KeyVerdict, { status: 'violation' }>[];
  readonly inconclusive: readonly Extract<KeyVerdict, { status: 'inconclusive' }>[];
  readonly opsChecked: number;
}

export interface LinearizabilityOptions {
  /** Bound on search steps per key; past it the key is reported inconclusive instead of hanging. */
  readonly maxStepsPerKey?: number;
}

const DEFAULT_MAX_STEPS_PER_KEY = 2_000_000;

type RegisterState = string | null;

/** The sequential specification: can `op` produce `result` from `state`, and what state follows. */
function stepModel(state: RegisterState, op: HistoryOp): { ok: boolean; next: RegisterState } {
  const { next, result } = executeOnValue(state, op.op);
  if (op.result === undefined) return { ok: true, next };
  return { ok: sameResult(result, op.result), next };
}

function sameResult(expected: KvResult, observed: KvResult): boolean {
  switch (expected.kind) {
    case 'get':
    case 'put':
    case 'append':
      return observed.kind === expected.kind && observed.value === expected.value;
    case 'delete':
      return observed.kind === 'delete' && observed.deleted === expected.deleted;
    case 'cas':
      return observed.kind === 'cas' && observed.succeeded === expected.succeeded && observed.value === expected.value;
    case 'stale_sequence':
      return observed.kind === 'stale_sequence';
  }
}

export function checkLinearizability(
  history: readonly HistoryOp[],
  options: LinearizabilityOptions = {},
): LinearizabilityReport {
  const maxSteps = options.maxStepsPerKey ?? DEFAULT_MAX_STEPS_PER_KEY;
  const byKey = new Map<string, HistoryOp[]>();
  for (const op of history) {
    const ops = byKey.get(op.op.key);
    if (ops === undefined) byKey.set(op.op.key, [op]);
    else ops.push(op);
  }
  const keys = [...byKey.keys()].sort();
  const verdicts = keys.map((key) => checkKey(key, byKey.get(key) ?? [], maxSteps));
  const violations = verdicts.filter((v): v is Extract<KeyVerdict, { status: 'violation' }> => v.status === 'violation');
  const inconclusive = verdicts.filter(
    (v): v is Extract<KeyVerdict, { status: 'inconclusive' }> => v.status === 'inconclusive',
  );
  return { ok: violations.length === 0, keys: verdicts, violations, inconclusive, opsChecked: history.length };
}

/** One call or return event in the doubly linked list the search walks. */
interface Event {
  readonly slot: number;
  readonly op: HistoryOp;
  readonly isCall: boolean;
  readonly time: number;
  /** For a call: its return event. */
  match: Event | null;
  prev: Event | null;
  next: Event | null;
}

function buildEventList(ops: readonly HistoryOp[]): Event {
  const events: Event[] = [];
  ops.forEach((op, slot) => {
    const call: Event = { slot, op, isCall: true, time: op.invokeAt, match: null, prev: null, next: null };
    const ret: Event = { slot, op, isCall: false, time: op.completeAt ?? Infinity, match: null, prev: null, next: null };
    call.match = ret;
    events.push(call, ret);
  });
  // Calls before returns at equal times (only the +infinity returns can tie): ties are concurrent.
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.slot - b.slot : a.isCall ? -1 : 1));
  const head: Event = { slot: -1, op: ops[0], isCall: false, time: -Infinity, match: null, prev: null, next: null };
  let last = head;
  for (const event of events) {
    last.next = event;
    event.prev = last;
    last = event;
  }
  return head;
}

/** Removes a call and its return from the list (the op is linearized). */
function lift(call: Event): void {
  const ret = call.match as Event;
  (call.prev as Event).next = call.next;
  (call.next as Event).prev = call.prev;
  (ret.prev as Event).next = ret.next;
  if (ret.next !== null) ret.next.prev = ret.prev;
}

/** Undoes lift(call): relies on the list being restored in reverse order of lifting. */
function unlift(call: Event): void {
  const ret = call.match as Event;
  (ret.prev as Event).next = ret;
  if (ret.next !== null) ret.next.prev = ret;
  (call.prev as Event).next = call;
  (call.next as Event).prev = call;
}

class Bitset {
  private readonly words: Uint32Array;
  constructor(bits: number) {
    this.words = new Uint32Array(Math.ceil(bits / 32));
  }
  set(bit: number): void {
    this.words[bit >>> 5] |= 1 << (bit & 31);
  }
  clear(bit: number): void {
    this.words[bit >>> 5] &= ~(1 << (bit & 31));
  }
  key(): string {
    return this.words.join(',');
  }
}

/**
 * Sound shortcuts for unknown outcomes, which otherwise make the search exponential in the
 * number of them pending at once (every subset and order of pending appends is another state):
 *  - an unknown read changes nothing and accepts any answer: left out;
 *  - an unknown write whose value no known op ever saw: left out (see `unseenUnknownWrites`);
 *  - once every op with a known outcome is linearized, the unknown ones still pending are
 *    linearized after all of them (the same as omitting them), which always succeeds.
 */
function checkKey(key: string, allOps: readonly HistoryOp[], maxSteps: number): KeyVerdict {
  const unseen = unseenUnknownWrites(allOps);
  const ops = allOps.filter((op) => (op.result !== undefined || op.op.kind !== 'get') && !unseen.has(op));
  if (ops.length === 0) return { status: 'ok', key, ops: allOps.length, steps: 0 };
  let knownLeft = ops.filter((op) => op.result !== undefined).length;
  const head = buildEventList(ops);
  const linearized = new Bitset(ops.length);
  const seen = new Set<string>();
  const stack: { call: Event; state: RegisterState }[] = [];
  let state: RegisterState = null;
  let entry = head.next;
  let steps = 0;
  let deepest: HistoryOp[] = [];

  while (head.next !== null && knownLeft > 0) {
    if (++steps > maxSteps) return { status: 'inconclusive', key, ops: allOps.length, steps };
    const current = entry as Event;
    if (current.isCall) {
      const { ok, next } = stepModel(state, current.op);
      if (ok) {
        linearized.set(current.slot);
        const cacheKey = `${linearized.key()}|${next === null ? '\u0000' : `=${next}`}`;
        if (!seen.has(cacheKey)) {
          seen.add(cacheKey);
          stack.push({ call: current, state });
          if (stack.length > deepest.length) deepest = stack.map((frame) => frame.call.op);
          state = next;
          if (current.op.result !== undefined) knownLeft--;
          lift(current);
          entry = head.next;
          continue;
        }
        linearized.clear(current.slot);
      }
      entry = current.next;
    } else {
      // A return whose op is not yet linearized: some earlier choice was wrong, backtrack.
      const frame = stack.pop();
      if (frame === undefined) {
        return { status: 'violation', key, ops: allOps.length, steps, detail: explain(key, ops, deepest) };
      }
      state = frame.state;
      linearized.clear(frame.call.slot);
      if (frame.call.op.result !== undefined) knownLeft++;
      unlift(frame.call);
      entry = frame.call.next;
    }
  }
  return { status: 'ok', key, ops: allOps.length, steps };
}

/**
 * Unknown puts, appends and cas whose written value appears in no known answer and in no cas's
 * `expected`. Leaving such a write W out of a linearization changes no known op's answer, so
 * the history is linearizable with W iff it is without W:
 *  - from W until the next put, delete or successful cas, the value holds W's value, so any
 *    known get, append or failed cas there would have shown it, and a successful cas would have
 *    named it as `expected`: none is there;
 *  - a known put answers its own value whatever came before; after the overwrite the state is
 *    the same with or without W;
 *  - a known delete answering `deleted: true` could owe that to W without showing it: on a key
 *    with such a delete nothing is left out.
 * A value "appears" if it is a substring of an answer: conservative (a false match keeps W).
 */
function unseenUnknownWrites(ops: readonly HistoryOp[]): ReadonlySet<HistoryOp> {
  const seen: string[] = [];
  for (const op of ops) {
    if (op.op.kind === 'cas' && op.op.expected !== null) seen.push(op.op.expected);
    const r = op.result;
    if (r === undefined) continue;
    if (r.kind === 'delete' && r.deleted) return new Set();
    if ((r.kind === 'get' || r.kind === 'cas') && r.value !== null) seen.push(r.value);
    if (r.kind === 'put' || r.kind === 'append') seen.push(r.value);
  }
  const unseen = new Set<HistoryOp>();
  for (const op of ops) {
    if (op.result !== undefined || !('value' in op.op)) continue;
    const written = op.op.value;
    if (written !== '' && !seen.some((value) => value.includes(written))) unseen.add(op);
  }
  return unseen;
}

/** The tail of the longest linearization found and the ops that could not follow it. */
function explain(key: string, ops: readonly HistoryOp[], deepest: readonly HistoryOp[]): string {
  const done = new Set(deepest.map((op) => op.id));
  const stuck = ops
    .filter((op) => !done.has(op.id))
    .sort((a, b) => a.invokeAt - b.invokeAt)
    .slice(0, 6);
  const lines = [
    `key ${JSON.stringify(key)}: no linearization of ${ops.length} ops; longest prefix ${deepest.length}, ending:`,
    ...deepest.slice(-6).map((op) => `  ok    ${describeOp(op)}`),
    'cannot continue with any of:',
    ...stuck.map((op) => `  stuck ${describeOp(op)}`),
  ];
  return lines.join('\n');
}
