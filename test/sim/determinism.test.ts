import { describe, expect, it } from '@jest/globals';
import { runSimulation } from './run.js';

/** Same seed, same run: the trace (every message, Ready, fault and client answer) byte for byte. */

async function traceOf(seed: number, nodes: number): Promise<string> {
  const result = await runSimulation({ seed, nodes, trace: true });
  expect(result.ok).toBe(true);
  return (result.trace ?? []).join('\n');
}

describe('simulator determinism', () => {
  it.each([
    [7, 3],
    [8, 5],
  ])('replays seed %i (%i nodes) to the same trace, byte for byte', async (seed, nodes) => {
    const first = await traceOf(seed, nodes);
    const second = await traceOf(seed, nodes);
    expect(second.length).toBe(first.length);
    expect(second === first).toBe(true);
  });

  it('gives another seed another run', async () => {
    expect((await traceOf(9, 3)) === (await traceOf(11, 3))).toBe(false);
  });

  it('traces every message and Ready in readable form', async () => {
    const trace = await traceOf(8, 5);
    expect(trace).toMatch(/^seed=8 nodes=5 /);
    expect(trace).toMatch(/ send n\d->n\d AppendEntries t\d+ prev=\d+\/\d+ commit=\d+ entries=\[/);
    expect(trace).toMatch(/ recv n\d->n\d RequestVote(Response)? t\d+/);
    expect(trace).toMatch(/ ready .*hard=t\d+ vote=/);
    expect(trace).toContain('FAULT faults healed');
  });

  it('returns the same result without a trace as with one', async () => {
    const traced = await runSimulation({ seed: 12, nodes: 5, trace: true });
    const plain = await runSimulation({ seed: 12, nodes: 5 });
    expect(plain.trace).toBeUndefined();
    expect(plain.stats).toEqual(traced.stats);
  });
});
