/**
 * The chaos run's judgement on recorded histories (no cluster): it passes a correct history,
 * unknown outcomes included, and fails one that lost an acknowledged append, reordered a
 * client's appends, served a stale read, or whose nodes ended in different states.
 */
import { describe, expect, it } from '@jest/globals';
import { HistoryRecorder } from '../../src/history-checks/history.js';
import { writeToken } from '../../src/history-checks/exactly-once.js';
import type { KvOp, KvResult } from '../../src/history-checks/kv-model.js';
import { judge, type ChaosEvidence } from '../../src/chaos/verdict.js';

const LOG = 'chaos/log1.e0';
const KEY = 'chaos/k1';

/** Ops as [client, seq, op, result | 'unknown'], each completed before the next is invoked unless noted. */
class Recording {
  readonly recorder = new HistoryRecorder();
  private tick = 0;

  done(clientId: string, seq: number, op: KvOp, result: KvResult): this {
    const id = this.recorder.invoke(clientId, seq, op, this.tick++);
    this.recorder.complete(id, result, this.tick++);
    return this;
  }

  unknown(clientId: string, seq: number, op: KvOp): this {
    this.recorder.invoke(clientId, seq, op, this.tick++);
    return this;
  }

  /** The final linearizable reads, recorded like the run does, and identical node states. */
  evidence(finalValues: Record<string, string | null>, nodeValues?: Record<string, Record<string, string>>): ChaosEvidence {
    for (const [key, value] of Object.entries(finalValues)) this.done('chaos-final', 0, { kind: 'get', key }, { kind: 'get', value });
    const held = Object.fromEntries(Object.entries(finalValues).filter((e): e is [string, string] => e[1] !== null));
    const nodes = nodeValues ?? { n1: held, n2: held, n3: held };
    return {
      history: this.recorder.history(),
      appendOnlyKeys: [LOG],
      finalValues: new Map(Object.entries(finalValues)),
      nodeStates: Object.entries(nodes).map(([node, values]) => ({ node, values: new Map(Object.entries(values)) })),
      problems: [],
    };
  }
}

const a1 = writeToken('append', 'c1', 1);
const a2 = writeToken('append', 'c1', 2);
const b1 = writeToken('append', 'c2', 1);
const p1 = writeToken('put', 'c1', 3);

function failed(evidence: ChaosEvidence): string[] {
  const verdict = judge(evidence);
  expect(verdict.verdict).toBe('FAIL');
  return verdict.checks.filter((c) => !c.ok).map((c) => c.name);
}

describe('chaos verdict', () => {
  it('passes a correct history, with an unknown append that took effect and one that did not', () => {
    const run = new Recording()
      .done('c1', 1, { kind: 'append', key: LOG, value: a1 }, { kind: 'append', value: a1 })
      .unknown('c2', 1, { kind: 'append', key: LOG, value: b1 })
      .done('c1', 2, { kind: 'append', key: LOG, value: a2 }, { kind: 'append', value: a1 + b1 + a2 })
      .done('c1', 3, { kind: 'put', key: KEY, value: p1 }, { kind: 'put', value: p1 })
      .unknown('c2', 2, { kind: 'delete', key: KEY });
    const verdict = judge(run.evidence({ [LOG]: a1 + b1 + a2, [KEY]: p1 }));
    expect(verdict.problems).toEqual([]);
    expect(verdict.verdict).toBe('PASS');
    expect(verdict.linearizability.keys).toBe(2);
  });

  it('fails a history that lost an acknowledged append', () => {
    const run = new Recording()
      .done('c1', 1, { kind: 'append', key: LOG, value: a1 }, { kind: 'append', value: a1 })
      .done('c1', 2, { kind: 'append', key: LOG, value: a2 }, { kind: 'append', value: a1 + a2 });
    const evidence = run.evidence({ [LOG]: a2 });
    expect(failed(evidence)).toEqual(['history is linearizable', 'exactly-once, acked appends kept in order']);
    expect(judge(evidence).problems).toContain(`exactly-once: acknowledged ${a1} lost from ${LOG}`);
  });

  it("fails a history whose final value holds a client's appends out of its order", () => {
    // Both unknown to the client, so only the order check can object.
    const run = new Recording().unknown('c1', 1, { kind: 'append', key: LOG, value: a1 }).unknown('c1', 2, { kind: 'append', key: LOG, value: a2 });
    const evidence = run.evidence({ [LOG]: a2 + a1 });
    expect(failed(evidence)).toEqual(['exactly-once, acked appends kept in order']);
    expect(judge(evidence).problems).toContain(`exactly-once: ${a2} precedes the earlier ${a1} in ${LOG}`);
  });

  it('fails a stale read: a get after an acknowledged put that does not see it', () => {
    const run = new Recording()
      .done('c1', 3, { kind: 'put', key: KEY, value: p1 }, { kind: 'put', value: p1 })
      .done('c2', 0, { kind: 'get', key: KEY }, { kind: 'get', value: null });
    expect(failed(run.evidence({ [KEY]: p1 }))).toEqual(['history is linearizable']);
  });

  it('fails when a node holds another state than the rest', () => {
    const run = new Recording().done('c1', 3, { kind: 'put', key: KEY, value: p1 }, { kind: 'put', value: p1 });
    const evidence = run.evidence({ [KEY]: p1 }, { n1: { [KEY]: p1 }, n2: { [KEY]: p1 }, n3: {} });
    expect(failed(evidence)).toEqual(['every node holds the same state']);
    expect(judge(evidence).problems).toEqual([`state: n3 holds nothing at ${KEY}, n1 holds ${JSON.stringify(p1)}`]);
  });

  it('fails a run that never reached its final reads, and one that saw an unexpected answer', () => {
    const run = new Recording().done('c1', 3, { kind: 'put', key: KEY, value: p1 }, { kind: 'put', value: p1 });
    const unfinished = { ...run.evidence({}), finalValues: null, nodeStates: [] };
    expect(failed(unfinished)).toEqual(['exactly-once, acked appends kept in order', 'every node holds the same state']);
    const odd = { ...new Recording().evidence({ [KEY]: null }), problems: ['c1#4: unexpected answer 400 bad_request'] };
    expect(failed(odd)).toEqual(['no unexpected answer or exit']);
  });
});
