/**
 * The chaos run's judgement, on recorded data only (pure: no I/O), so it can be tested on
 * hand-made histories:
 *  - linearizability of the whole history, final reads included, with the simulator's checker
 *    (an op whose outcome is unknown may take effect anywhere after its invoke, or never);
 *    a key the search could not decide within its bound fails the run too: unproven is not passed;
 *  - exactly-once (SPEC 2, 6): no token twice, none never sent, every acknowledged append on an
 *    append-only key present exactly once and in its client's order;
 *  - every node holds the same state (Raft fig. 3, state machine safety), and it is the state
 *    the final linearizable reads saw;
 *  - nothing else went wrong (answers no correct cluster gives, a node exiting on its own).
 */
import { checkExactlyOnce } from '../history-checks/exactly-once.js';
import type { HistoryOp } from '../history-checks/history.js';
import { checkLinearizability, type LinearizabilityOptions } from '../history-checks/linearizability.js';

export interface NodeState {
  readonly node: string;
  /** key -> value, as the node's own state (a stale read) holds it. */
  readonly values: ReadonlyMap<string, string>;
}

export interface ChaosEvidence {
  /** Every op whose effect is in question: answered, or unknown (no completeAt). */
  readonly history: readonly HistoryOp[];
  readonly appendOnlyKeys: readonly string[];
  /**
   * The value of every key the run touched, by linearizable reads after recovery (null:
   * absent); null when the run never got that far (the end-state checks then fail as not run).
   */
  readonly finalValues: ReadonlyMap<string, string | null> | null;
  readonly nodeStates: readonly NodeState[];
  /** Problems seen while running (see workload.ts and faults.ts). */
  readonly problems: readonly string[];
}

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface Verdict {
  readonly verdict: 'PASS' | 'FAIL';
  readonly checks: readonly Check[];
  /** What went wrong, spelled out. */
  readonly problems: readonly string[];
  readonly linearizability: { readonly keys: number; readonly steps: number; readonly violations: number; readonly inconclusive: number };
}

/** Differences between states listed per node pair before "... and N more". */
const DIFFERENCES_SHOWN_MAX = 5;

export function judge(evidence: ChaosEvidence, options: LinearizabilityOptions = {}): Verdict {
  const problems: string[] = [];
  const linear = checkLinearizability(evidence.history, options);
  for (const v of linear.violations) problems.push(`linearizability: ${v.detail}`);
  for (const v of linear.inconclusive) problems.push(`linearizability: key ${JSON.stringify(v.key)} undecided after ${v.steps} steps (${v.ops} ops)`);

  const finalValues = evidence.finalValues;
  const exactlyOnce = finalValues === null ? null : checkExactlyOnce({ history: evidence.history, finalValues, appendOnlyKeys: evidence.appendOnlyKeys });
  problems.push(...(exactlyOnce ?? []));

  const stateProblems = finalValues === null ? null : compareStates(evidence.nodeStates, finalValues);
  problems.push(...(stateProblems ?? []));
  problems.push(...evidence.problems);

  const acked = evidence.history.filter((op) => op.result !== undefined).length;
  const steps = linear.keys.reduce((sum, k) => sum + k.steps, 0);
  const checks: Check[] = [
    { name: 'history is linearizable', ok: linear.violations.length === 0, detail: `${linear.opsChecked} ops (${acked} answered) on ${linear.keys.length} keys, ${linear.violations.length} keys violate` },
    { name: 'every key decided', ok: linear.inconclusive.length === 0, detail: `${linear.inconclusive.length} keys undecided within the search bound` },
    exactlyOnce === null
      ? { name: 'exactly-once, acked appends kept in order', ok: false, detail: 'not run: the run did not reach its final reads' }
      : { name: 'exactly-once, acked appends kept in order', ok: exactlyOnce.length === 0, detail: `${exactlyOnce.length} problems on ${finalValues!.size} keys` },
    stateProblems === null
      ? { name: 'every node holds the same state', ok: false, detail: 'not run: the run did not reach its final reads' }
      : { name: 'every node holds the same state', ok: stateProblems.length === 0, detail: `${evidence.nodeStates.length} nodes compared` },
    { name: 'no unexpected answer or exit', ok: evidence.problems.length === 0, detail: `${evidence.problems.length} seen` },
  ];
  return {
    verdict: checks.every((c) => c.ok) ? 'PASS' : 'FAIL',
    checks,
    problems,
    linearizability: { keys: linear.keys.length, steps, violations: linear.violations.length, inconclusive: linear.inconclusive.length },
  };
}

/** Every node against the first, and the first against the final linearizable reads. */
function compareStates(states: readonly NodeState[], finalValues: ReadonlyMap<string, string | null>): string[] {
  const problems: string[] = [];
  const reference = states[0];
  if (reference === undefined) return ['no node state was read'];
  for (const state of states.slice(1)) {
    const keys = [...new Set([...reference.values.keys(), ...state.values.keys()])].sort();
    const differing = keys.filter((key) => reference.values.get(key) !== state.values.get(key));
    for (const key of differing.slice(0, DIFFERENCES_SHOWN_MAX)) {
      problems.push(`state: ${state.node} holds ${show(state.values.get(key))} at ${key}, ${reference.node} holds ${show(reference.values.get(key))}`);
    }
    if (differing.length > DIFFERENCES_SHOWN_MAX) problems.push(`state: ${state.node} and ${reference.node} differ on ${differing.length - DIFFERENCES_SHOWN_MAX} more keys`);
  }
  for (const [key, value] of finalValues) {
    const held = reference.values.get(key) ?? null;
    if (held !== value) problems.push(`state: the final linearizable read of ${key} saw ${show(value)}, ${reference.node} holds ${show(held)}`);
  }
  return problems;
}

function show(value: string | null | undefined): string {
  if (value === null || value === undefined) return 'nothing';
  return value.length > 80 ? `${JSON.stringify(value.slice(0, 80))}... (${value.length} chars)` : JSON.stringify(value);
}
