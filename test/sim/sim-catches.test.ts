import { describe, expect, it } from '@jest/globals';
import type { Entry, HardState } from '../../src/consensus/core/messages.js';
import { MemoryDurableStore, type DurableStore, type PersistedState, type StoredSnapshot } from './durable-store.js';
import { decodeCommand, executeOnValue, type KvApplyOutcome, type KvStateMachine } from '../../src/history-checks/kv-model.js';
import { runSimulation, type SimOptions, type SimResult } from './run.js';

/**
 * The end-to-end checks are wired and can fail: a simulation with a deliberately broken host
 * part (the core itself is untouched) must be caught. A checker that never fails proves nothing.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A state machine without a session table: a retried write is executed again. */
class SessionlessKv implements KvStateMachine {
  private kv = new Map<string, string>();

  apply(data: Uint8Array): KvApplyOutcome {
    const { op } = decodeCommand(data);
    const { next, result } = executeOnValue(this.kv.get(op.key) ?? null, op);
    if (next === null) this.kv.delete(op.key);
    else this.kv.set(op.key, next);
    return { result, deduplicated: false };
  }

  read(key: string): string | null {
    return this.kv.get(key) ?? null;
  }

  snapshot(): Uint8Array {
    return encoder.encode(JSON.stringify([...this.kv].sort((a, b) => (a[0] < b[0] ? -1 : 1))));
  }

  restore(data: Uint8Array): void {
    this.kv = new Map(JSON.parse(decoder.decode(data)) as [string, string][]);
  }
}

/**
 * A store that acknowledges appends before they are durable (no fsync): a crash loses the last
 * batch of entries it appended, while the hard state (commit index included) survives.
 */
class UnsyncedStore implements DurableStore {
  private inner = new MemoryDurableStore();
  private lastBatchFrom: number | null = null;

  load(): PersistedState {
    const from = this.lastBatchFrom;
    this.lastBatchFrom = null;
    const state = this.inner.load();
    if (from === null) return state;
    // The restart finds the log as it was before the last append.
    this.inner = new MemoryDurableStore();
    if (state.snapshot !== undefined) this.inner.installSnapshot(state.snapshot);
    this.inner.appendEntries(state.entries.filter((e) => e.index < from));
    this.inner.saveHardState(state.hardState);
    return this.inner.load();
  }

  appendEntries(entries: readonly Entry[]): void {
    this.inner.appendEntries(entries);
    if (entries.length > 0) this.lastBatchFrom = entries[0].index;
  }

  installSnapshot(snapshot: StoredSnapshot): void {
    this.inner.installSnapshot(snapshot);
    this.lastBatchFrom = null;
  }

  compact(snapshot: StoredSnapshot): void {
    this.inner.compact(snapshot);
    if (this.lastBatchFrom !== null && this.lastBatchFrom <= snapshot.meta.index) this.lastBatchFrom = null;
  }

  saveHardState(hardState: HardState): void {
    this.inner.saveHardState(hardState);
  }

  entry(index: number): Entry | undefined {
    return this.inner.entry(index);
  }

  term(index: number): number | undefined {
    return this.inner.term(index);
  }

  lastIndex(): number {
    return this.inner.lastIndex();
  }

  snapshot(): StoredSnapshot | undefined {
    return this.inner.snapshot();
  }
}

async function violationsOver(seeds: number, options: Omit<SimOptions, 'seed' | 'nodes'>): Promise<string[]> {
  const violations: string[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    violations.push(...(await runSimulation({ seed, nodes: seed % 2 === 0 ? 5 : 3, ...options })).violations);
  }
  return violations;
}

describe('simulator catches broken hosts', () => {
  it('catches retried writes applied twice (exactly-once, SPEC 2)', async () => {
    const violations = await violationsOver(10, { newStateMachine: () => new SessionlessKv() });
    expect(violations.some((v) => v.startsWith('exactly-once:') && v.includes('applied twice'))).toBe(true);
  });

  it('catches appends acknowledged before they were durable (Raft 5.3: persist before you answer)', async () => {
    const results: SimResult[] = [];
    for (let i = 0; i < 10; i++) results.push(await runSimulation({ seed: i + 1, nodes: i % 2 === 0 ? 3 : 5, newStore: () => new UnsyncedStore() }));
    const violations = results.flatMap((result) => result.violations);
    // The core may notice first (a restart whose commit index is past its log), or the checkers do.
    expect(results.filter((result) => !result.ok).length).toBeGreaterThan(0);
    expect(violations.some((v) => /leader completeness|committed entry changed|RaftInvariantError|state machine safety/.test(v))).toBe(true);
  });

  it('reports a liveness violation when no leader can be elected after healing', async () => {
    const result = await runSimulation({
      seed: 3,
      nodes: 3,
      faultTicks: 200,
      livenessTicksMax: 300,
      tuning: { electionTicksMin: 100_000, electionTicksMax: 100_010 },
    });
    expect(result.ok).toBe(false);
    expect(result.violations[0]).toMatch(/^liveness: not recovered 300 ticks after healing; \d+ client ops pending/);
  });
});
