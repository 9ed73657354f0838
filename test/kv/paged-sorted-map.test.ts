import { describe, expect, it } from '@jest/globals';
import { compareKeys } from '../../src/kv/key-order.js';
import { PAGE_BYTES_MAX, PagedSortedMap, PagedSortedMapBuilder, type FrozenRecords } from '../../src/kv/record-pages/paged-sorted-map.js';

/** A small deterministic generator (mulberry32), so a failing seed can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Characters chosen to meet the cases where UTF-16 order and code point order differ.
const ALPHABET = ['a', 'b', 'z', '/', 'é', '\u{e000}', '\u{ffff}', '\u{1f600}', '\u{10000}'];

function randomKey(next: () => number, maxChars: number): string {
  const n = 1 + Math.floor(next() * maxChars);
  let key = '';
  for (let i = 0; i < n; i++) key += ALPHABET[Math.floor(next() * ALPHABET.length)];
  return key;
}

function randomValue(next: () => number): string {
  const roll = next();
  // Mostly small values, some empty, a few larger than a page.
  const n = roll < 0.1 ? 0 : roll < 0.97 ? Math.floor(next() * 200) : PAGE_BYTES_MAX + Math.floor(next() * 3 * PAGE_BYTES_MAX);
  return String.fromCharCode(97 + Math.floor(next() * 26)).repeat(n) + (roll < 0.5 ? 'ü' : '');
}

function sortedModel(model: Map<string, string>): [string, string][] {
  return [...model.entries()].sort(([a], [b]) => compareKeys(a, b));
}

function frozenEntries(frozen: FrozenRecords): [string, string][] {
  const entries = [...frozen.entries()];
  // The runs hold the same records, and count them right.
  expect([...frozen.runs()].reduce((n, run) => n + run.count, 0)).toBe(entries.length);
  expect(frozen.size).toBe(entries.length);
  return entries;
}

describe('PagedSortedMap', () => {
  it.each([1, 2, 3, 4, 5])('matches a plain Map under random sets, deletes, freezes and releases (seed %i)', (seed) => {
    const next = rng(seed);
    const map = new PagedSortedMap();
    const model = new Map<string, string>();
    let open: { frozen: FrozenRecords; expected: [string, string][] }[] = [];
    let freezes = 0;
    for (let step = 0; step < 4000; step++) {
      const key = randomKey(next, 4);
      const roll = next();
      if (roll < 0.6) {
        const value = randomValue(next);
        map.set(key, value);
        model.set(key, value);
      } else if (roll < 0.9) {
        expect(map.delete(key)).toBe(model.delete(key));
      } else if (roll < 0.98) {
        expect(map.get(key)).toBe(model.get(key));
      } else if (roll < 0.99 || open.length === 0) {
        open.push({ frozen: map.freeze(), expected: sortedModel(model) });
        freezes++;
      } else {
        // Release one view: its pages' slots are reused once no view is open; the others must not notice.
        const [released] = open.splice(Math.floor(next() * open.length), 1);
        expect(frozenEntries(released!.frozen)).toEqual(released!.expected);
        released!.frozen.release();
      }
      expect(map.size).toBe(model.size);
    }
    expect([...map.entries()]).toEqual(sortedModel(model));
    // Every view still open shows the state at its moment, whatever came after.
    for (const { frozen, expected } of open) expect(frozenEntries(frozen)).toEqual(expected);
    expect(freezes).toBeGreaterThan(10);
    for (const { frozen } of open) frozen.release();
    open = [];
    // No slot leaks: once every view is released, the slots in use are exactly the map's pages'.
    expect(map.slotsHeld).toBe(map.pagesInSlots);
    expect(map.pagesInSlots).toBeGreaterThan(0);
  });

  it('copies pages only while a frozen view is open', () => {
    const map = new PagedSortedMap();
    for (let i = 0; i < 2000; i++) map.set(`k${String(i).padStart(5, '0')}`, 'v'.repeat(50));
    const first = map.freeze();
    const second = map.freeze();
    for (let i = 0; i < 2000; i += 100) map.set(`k${String(i).padStart(5, '0')}`, 'changed');
    const copiedWhileOpen = map.pagesCopied;
    expect(copiedWhileOpen).toBe(20);
    // One view released, one still open: pages are still copied, and both views stay intact.
    first.release();
    for (let i = 50; i < 2000; i += 100) map.set(`k${String(i).padStart(5, '0')}`, 'changed');
    expect(map.pagesCopied).toBeGreaterThan(copiedWhileOpen);
    expect([...second.entries()].every(([, value]) => value === 'v'.repeat(50))).toBe(true);
    second.release();
    second.release();
    const copiedBefore = map.pagesCopied;
    for (let i = 25; i < 2000; i += 100) map.set(`k${String(i).padStart(5, '0')}`, 'changed again');
    expect(map.pagesCopied).toBe(copiedBefore);
    expect(map.get('k00025')).toBe('changed again');
    // A later freeze copies again.
    const third = map.freeze();
    map.set('k00025', 'after the third');
    expect(map.pagesCopied).toBe(copiedBefore + 1);
    expect([...third.entries()].find(([key]) => key === 'k00025')?.[1]).toBe('changed again');
  });

  it('walks from any key, including keys absent and past the end', () => {
    const map = new PagedSortedMap();
    for (let i = 0; i < 500; i++) map.set(`k${String(i * 2).padStart(4, '0')}`, `v${i}`);
    expect(map.pageCount).toBeGreaterThan(1);
    const from = (k: string) => [...map.entries(k)].map(([key]) => key);
    expect(from('k0100').slice(0, 2)).toEqual(['k0100', 'k0102']);
    expect(from('k0101').slice(0, 2)).toEqual(['k0102', 'k0104']);
    expect(from('k9')).toEqual([]);
    expect(from('a')).toHaveLength(500);
  });

  it('fills pages when keys arrive in ascending order, and merges pages emptied by deletes', () => {
    const map = new PagedSortedMap();
    const value = 'x'.repeat(100);
    for (let i = 0; i < 10_000; i++) map.set(`key-${String(i).padStart(6, '0')}`, value);
    const recordBytes = 8 + 10 + 100;
    // Ascending keys start a new page rather than splitting a full one in two.
    const perPageFull = Math.floor(PAGE_BYTES_MAX / recordBytes);
    expect(map.pageCount).toBeLessThanOrEqual(Math.ceil(10_000 / (perPageFull - 1)));
    for (let i = 0; i < 10_000; i++) if (i % 10 !== 0) map.delete(`key-${String(i).padStart(6, '0')}`);
    expect(map.size).toBe(1000);
    expect(map.pageCount).toBeLessThan(Math.ceil(10_000 / perPageFull) / 2);
    expect([...map.entries()].map(([k]) => k)).toEqual(Array.from({ length: 1000 }, (_, i) => `key-${String(i * 10).padStart(6, '0')}`));
  });

  it('keeps pages about 3/4 full when keys arrive in random order, by spilling to neighbours before splitting', () => {
    const next = rng(11);
    const ids = Array.from({ length: 20_000 }, (_, i) => i);
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [ids[i], ids[j]] = [ids[j] as number, ids[i] as number];
    }
    const map = new PagedSortedMap();
    for (const id of ids) map.set(`key-${String(id).padStart(6, '0')}`, 'x'.repeat(100));
    const recordBytes = 20_000 * (8 + 10 + 100);
    // Splitting alone leaves pages ~2/3 full (about 1.5x the record bytes).
    expect(map.bytesAllocated).toBeLessThan(recordBytes / 0.75);
    expect([...map.entries()].map(([key]) => key)).toEqual(ids.slice().sort((a, b) => a - b).map((id) => `key-${String(id).padStart(6, '0')}`));
  });

  it('gives back the buffer of a large record once it is gone, and keeps loaded pages full', () => {
    const map = new PagedSortedMap();
    const value = 'x'.repeat(100);
    for (let i = 0; i < 1000; i++) map.set(`key-${String(i).padStart(6, '0')}`, value);
    const recordBytes = 1000 * (8 + 10 + 100);
    // Ascending keys fill each page before the next: little room left over.
    expect(map.bytesAllocated).toBeLessThan(recordBytes * 1.1);
    const before = map.bytesAllocated;
    map.set('key-000500', 'y'.repeat(1 << 20));
    expect(map.bytesAllocated).toBeGreaterThan(before + (1 << 20));
    map.set('key-000500', value);
    // The large record split its page in up to three; the buffers are page-sized again.
    expect(map.bytesAllocated).toBeLessThanOrEqual(before + 2 * PAGE_BYTES_MAX);
    map.set('key-000501', 'z'.repeat(1 << 20));
    expect(map.delete('key-000501')).toBe(true);
    expect(map.bytesAllocated).toBeLessThanOrEqual(before + 4 * PAGE_BYTES_MAX);
    expect(map.get('key-000500')).toBe(value);
    expect(map.size).toBe(999);
  });

  it('a builder makes the same map as the same records set one by one', () => {
    const next = rng(9);
    const model = new Map<string, string>();
    for (let i = 0; i < 3000; i++) model.set(randomKey(next, 6), randomValue(next));
    const builder = new PagedSortedMapBuilder();
    for (const [key, value] of sortedModel(model)) builder.add(key, value);
    const built = builder.finish();
    expect(built.size).toBe(model.size);
    expect([...built.entries()]).toEqual(sortedModel(model));
    // And it stays a working map: change every tenth key.
    let i = 0;
    for (const key of model.keys()) if (i++ % 10 === 0) built.set(key, 'changed');
    i = 0;
    for (const key of model.keys()) if (i++ % 10 === 0) model.set(key, 'changed');
    expect([...built.entries()]).toEqual(sortedModel(model));
  });

  it('an empty map and an empty builder behave as empty', () => {
    const map = new PagedSortedMapBuilder().finish();
    expect(map.size).toBe(0);
    expect(map.get('a')).toBeUndefined();
    expect(map.delete('a')).toBe(false);
    expect([...map.entries()]).toEqual([]);
    map.set('a', '1');
    expect(map.delete('a')).toBe(true);
    expect([...map.entries('')]).toEqual([]);
  });
});
