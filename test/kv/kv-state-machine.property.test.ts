import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { KvApplyResult, KvCommand, KvWriteAnswer } from '../../src/kv/commands.js';
import { KvStateMachine } from '../../src/kv/kv-state-machine.js';

/**
 * The state machine against a trivial model: a Map for the keys, a Map of clientId ->
 * (latest seq, first answer) for exactly-once, and listing by sorting UTF-8 bytes (an
 * ordering computed independently of compareKeys). Limits are large enough that no
 * session expires or is evicted here; session-table.test.ts covers those.
 */
type Step = { kind: 'write'; command: KvCommand } | { kind: 'list'; prefix: string; limit: number } | { kind: 'snapshot'; chunkBytes: number } | { kind: 'noop' };

const keyChars = fc.constantFrom('a', 'b', '/', 'é', '～', '😀');
const key = fc.string({ unit: keyChars, minLength: 1, maxLength: 4 });
const value = fc.string({ unit: keyChars, maxLength: 6 });
const session = fc.option(fc.record({ clientId: fc.constantFrom('c1', 'c2', 'c3'), seq: fc.nat({ max: 5 }) }), { nil: undefined, freq: 2 });

const write: fc.Arbitrary<Step> = fc
  .tuple(fc.constantFrom('put', 'append', 'delete', 'cas'), key, value, fc.option(value, { nil: null }), session)
  .map(([op, k, v, expected, s]) => {
    const base = { key: k, timeMs: 1_000, ...(s ?? {}) };
    const command: KvCommand =
      op === 'delete' ? { op, ...base } : op === 'cas' ? { op, ...base, expected, value: v } : { op, ...base, value: v };
    return { kind: 'write', command };
  });

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 12, arbitrary: write },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('list' as const), prefix: fc.string({ unit: keyChars, maxLength: 2 }), limit: fc.nat({ max: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('snapshot' as const), chunkBytes: fc.integer({ min: 64, max: 300 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'noop' as const }) },
);

function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

class Model {
  readonly kv = new Map<string, string>();
  readonly sessions = new Map<string, { seq: number; answer: KvWriteAnswer }>();

  apply(index: number, c: KvCommand): KvApplyResult {
    if (c.op === 'sessions') throw new Error('not generated');
    if (c.clientId !== undefined && c.seq !== undefined) {
      const s = this.sessions.get(c.clientId);
      if (s !== undefined && c.seq === s.seq) return { ok: true, answer: s.answer, duplicate: true };
      if (s !== undefined && c.seq < s.seq) {
        return { ok: false, error: 'stale_sequence', latestSeq: s.seq, message: expect.any(String) as unknown as string };
      }
    }
    const current = this.kv.get(c.key);
    let answer: KvWriteAnswer;
    switch (c.op) {
      case 'put':
        this.kv.set(c.key, c.value);
        answer = { key: c.key, value: c.value, index };
        break;
      case 'append':
        this.kv.set(c.key, (current ?? '') + c.value);
        answer = { key: c.key, value: (current ?? '') + c.value, index };
        break;
      case 'delete':
        answer = { key: c.key, deleted: this.kv.delete(c.key), index };
        break;
      case 'cas': {
        const ok = c.expected === null ? current === undefined : current === c.expected;
        if (ok) this.kv.set(c.key, c.value);
        answer = { key: c.key, succeeded: ok, value: ok ? c.value : (current ?? null), index };
        break;
      }
    }
    if (c.clientId !== undefined && c.seq !== undefined) this.sessions.set(c.clientId, { seq: c.seq, answer });
    return { ok: true, answer, duplicate: false };
  }

  list(prefix: string, limit: number): { key: string; value: string }[] {
    return [...this.kv.keys()]
      .filter((k) => k.startsWith(prefix))
      .sort(byUtf8)
      .slice(0, limit)
      .map((k) => ({ key: k, value: this.kv.get(k) as string }));
  }
}

describe('KvStateMachine against a Map model (property)', () => {
  it('gives the same answers, reads and listings, across snapshot/restore at any point', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120 }), (steps) => {
        let sm = new KvStateMachine();
        const model = new Model();
        let index = 0;
        for (const s of steps) {
          switch (s.kind) {
            case 'write': {
              index++;
              expect(sm.apply(index, s.command)).toEqual(model.apply(index, s.command));
              const c = s.command as { key: string };
              const expected = model.kv.get(c.key);
              expect(sm.get(c.key)).toEqual(expected === undefined ? null : { key: c.key, value: expected, index });
              break;
            }
            case 'list':
              expect(sm.list(s.prefix, s.limit)).toEqual({ items: model.list(s.prefix, s.limit), index });
              break;
            case 'snapshot': {
              const copy = new KvStateMachine();
              copy.restore(sm.snapshot().chunks(s.chunkBytes));
              sm = copy;
              break;
            }
            case 'noop':
              sm.skip(++index);
              break;
          }
          expect(sm.keyCount).toBe(model.kv.size);
        }
        expect(sm.list('', 1000).items).toEqual(model.list('', 1000));
      }),
      { numRuns: 300 },
    );
  });
});
