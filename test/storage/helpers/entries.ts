import { createHash } from 'node:crypto';
import type { Entry } from '../../../src/consensus/core/messages.js';

/** Deterministic content for an entry, so a reader can verify it without remembering it. */
export function dataFor(index: number, term: number, bytes: number): Uint8Array {
  const out = Buffer.alloc(bytes);
  let block = createHash('sha256').update(`${index}/${term}`).digest();
  for (let at = 0; at < bytes; at += block.length) {
    block.copy(out, at, 0, Math.min(block.length, bytes - at));
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

export function makeEntry(index: number, term: number, bytes = 32): Entry {
  return { index, term, type: bytes === 0 ? 'noop' : 'command', data: dataFor(index, term, bytes) };
}

export function makeEntries(from: number, count: number, term: number, bytes = 32): Entry[] {
  return Array.from({ length: count }, (_, i) => makeEntry(from + i, term, bytes));
}

/** Entries as plain comparable values. */
export function plain(entries: readonly Entry[]): { index: number; term: number; type: string; data: string }[] {
  return entries.map((e) => ({ index: e.index, term: e.term, type: e.type, data: Buffer.from(e.data).toString('hex') }));
}

export const silentLogger = { log: (): void => undefined, warn: (): void => undefined };

export function recordingLogger(): { log(m: string): void; warn(m: string): void; warnings: string[] } {
  const warnings: string[] = [];
  return { log: () => undefined, warn: (m: string) => warnings.push(m), warnings };
}
