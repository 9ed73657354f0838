import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { join } from 'node:path';
import type { Entry, HardState, SnapshotMeta } from '../../src/consensus/core/messages.js';
import { INITIAL_HARD_STATE } from '../../src/storage/hard-state-store.js';
import { RaftStorage } from '../../src/storage/raft-storage.js';
import { makeEntry, plain, silentLogger } from './helpers/entries.js';
import { makeTempDir, removeDir } from './helpers/temp-dir.js';

/**
 * Random sequences of append / truncate-suffix / own snapshot + compact / received snapshot /
 * close-and-reopen must leave the storage's log equal to a plain in-memory model's.
 */

type Op =
  | { kind: 'append'; count: number; newTerm: boolean; truncateBack: number; bytes: number }
  | { kind: 'snapshot'; back: number }
  | { kind: 'install'; ahead: number; matching: boolean }
  | { kind: 'reopen' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('append' as const), count: fc.integer({ min: 1, max: 12 }), newTerm: fc.boolean(), truncateBack: fc.integer({ min: 0, max: 15 }), bytes: fc.integer({ min: 0, max: 120 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('snapshot' as const), back: fc.integer({ min: 0, max: 20 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('install' as const), ahead: fc.integer({ min: 0, max: 20 }), matching: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
);

class Model {
  snapshot: SnapshotMeta | null = null;
  /** Entries after the snapshot, in order. */
  entries: Entry[] = [];
  hardState: HardState = INITIAL_HARD_STATE;
  term = 1;

  get snapshotIndex(): number {
    return this.snapshot?.index ?? 0;
  }

  get lastIndex(): number {
    return this.snapshotIndex + this.entries.length;
  }

  termAt(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshot?.term ?? 0;
    return this.entries[index - this.snapshotIndex - 1]?.term;
  }
}

const SEGMENT_BYTES = 400;
let root: string;
let runs = 0;

beforeAll(async () => {
  root = await makeTempDir('storage-model');
});
afterAll(async () => {
  await removeDir(root);
});

async function check(storage: RaftStorage, model: Model): Promise<void> {
  expect(storage.lastIndex).toBe(model.lastIndex);
  expect(storage.firstIndex).toBeLessThanOrEqual(model.snapshotIndex + 1);
  expect(storage.snapshot).toEqual(model.snapshot);
  const from = model.snapshotIndex + 1;
  const stored = from <= storage.lastIndex ? await storage.readEntries(from, storage.lastIndex + 1) : [];
  expect(plain(stored)).toEqual(plain(model.entries));
  expect(storage.term(model.lastIndex)).toBe(model.termAt(model.lastIndex));
}

async function apply(storage: RaftStorage, model: Model, op: Exclude<Op, { kind: 'reopen' }>, voters: string[]): Promise<void> {
  if (op.kind === 'append') {
    if (op.newTerm) model.term++;
    // Never truncate into what a snapshot covers: that is committed.
    const start = Math.max(model.snapshotIndex + 1, model.lastIndex + 1 - op.truncateBack);
    const entries = Array.from({ length: op.count }, (_, i) => makeEntry(start + i, model.term, op.bytes));
    const hardState = { term: model.term, vote: 'n1', commit: model.snapshotIndex };
    await storage.save({ entries, hardState });
    model.entries = [...model.entries.slice(0, start - model.snapshotIndex - 1), ...entries];
    model.hardState = hardState;
    return;
  }
  if (op.kind === 'snapshot') {
    if (model.lastIndex === model.snapshotIndex) return;
    const index = Math.max(model.snapshotIndex + 1, model.lastIndex - op.back);
    const meta = { index, term: model.termAt(index)!, config: { voters } };
    await commitSnapshot(storage, meta);
    await storage.compact(meta);
    model.entries = model.entries.slice(index - model.snapshotIndex);
    model.snapshot = meta;
    return;
  }
  // A snapshot from a leader: either one that matches an entry we hold, or one from a newer term.
  const matching = op.matching && model.lastIndex > model.snapshotIndex;
  const index = matching ? Math.min(model.lastIndex, model.snapshotIndex + 1 + op.ahead) : model.lastIndex + op.ahead + 1;
  if (!matching) model.term++;
  const meta = { index, term: matching ? model.termAt(index)! : model.term, config: { voters } };
  await commitSnapshot(storage, meta);
  await storage.save({ snapshot: meta, entries: [] });
  model.entries = matching ? model.entries.slice(index - model.snapshotIndex) : [];
  model.snapshot = meta;
}

async function commitSnapshot(storage: RaftStorage, meta: SnapshotMeta): Promise<void> {
  const writer = await storage.snapshots.beginWrite(meta);
  await writer.write(Buffer.from(`state at ${meta.index}`));
  await writer.commit();
}

describe('RaftStorage against a model', () => {
  it('keeps the same log as the model through appends, truncations, snapshots, installs and restarts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 30 }), async (ops) => {
        const dir = join(root, `run-${runs++}`);
        const options = { fsync: false, segmentBytesMax: SEGMENT_BYTES, logger: silentLogger, lock: false } as const;
        const voters = ['n1', 'n2', 'n3'];
        const model = new Model();
        let storage = await RaftStorage.open(dir, options);
        try {
          for (const op of ops) {
            if (op.kind === 'reopen') {
              await storage.close();
              storage = await RaftStorage.open(dir, options);
              expect(storage.recovered.hardState).toEqual(model.hardState);
              expect(storage.recovered.snapshot).toEqual(model.snapshot);
            } else {
              await apply(storage, model, op, voters);
            }
            await check(storage, model);
          }
        } finally {
          await storage.close();
          await removeDir(dir);
        }
      }),
      {
        numRuns: 200,
        examples: [
          // A sequence that once failed here: two installs that reset the log, a truncation in the new segment, a restart.
          [
            [
              { kind: 'install', ahead: 2, matching: false },
              { kind: 'install', ahead: 4, matching: false },
              { kind: 'append', count: 2, newTerm: false, truncateBack: 0, bytes: 0 },
              { kind: 'append', count: 1, newTerm: false, truncateBack: 1, bytes: 0 },
              { kind: 'reopen' },
              { kind: 'append', count: 1, newTerm: false, truncateBack: 0, bytes: 0 },
            ],
          ],
        ],
      },
    );
  });
});
