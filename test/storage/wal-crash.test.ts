import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Entry } from '../../src/consensus/core/messages.js';
import { NodeFileSystem } from '../../src/storage/fs/node-file-system.js';
import { HardStateStore } from '../../src/storage/hard-state-store.js';
import { Wal } from '../../src/storage/wal/wal.js';
import { buildStorageForChildren, childScript, removeChildBuild, startChild, waitFor } from './helpers/children.js';
import { silentLogger } from './helpers/entries.js';
import { makeTempDir, removeDir } from './helpers/temp-dir.js';
import { Prng } from '../../src/consensus/core/prng.js';

/**
 * Crash points with real processes: a child appends as fast as it can and prints each
 * acknowledged index; we SIGKILL it at a random moment, reopen, and check that every
 * acknowledged entry is present and intact, then let the next child carry on from there.
 * (SIGKILL loses the process, not the page cache: power loss is the simulator's job.)
 */

// Keep in step with the child.
function expectedEntry(index: number): Entry {
  const termOf = Math.floor(index / 1000) + 1;
  if (index % 13 === 0) return { index, term: termOf, type: 'noop', data: new Uint8Array(0) };
  const data = new Uint8Array(1 + ((index * 37) % 200));
  for (let i = 0; i < data.length; i++) data[i] = (index * 31 + i * 7) & 0xff;
  return { index, term: termOf, type: 'command', data };
}


const ITERATIONS = 40;
const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
let buildDir: string;
let dataDir: string;
let compactionRequestsFile: string;

/** The highest index any child asked the WAL to compact up to (0 if none). */
async function highestCompactionRequest(): Promise<number> {
  const text = await readFile(compactionRequestsFile, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).reduce((max, line) => Math.max(max, Number(line)), 0);
}

beforeAll(async () => {
  buildDir = buildStorageForChildren('crash');
  dataDir = await makeTempDir('wal-crash');
  compactionRequestsFile = join(dataDir, 'compaction-requests');
});
afterAll(async () => {
  await removeDir(dataDir);
  await removeChildBuild(buildDir);
});

describe('WAL under SIGKILL (real processes)', () => {
  it(`keeps every acknowledged entry across ${ITERATIONS} random kills (seed ${seed}; rerun with CRASH_SEED=${seed})`, async () => {
    const prng = new Prng(seed);
    const random = (): number => prng.nextFloat();
    const fs = new NodeFileSystem();
    const acknowledged = new Set<number>();
    let termAcknowledged = 0;
    let killedWithAcks = 0;

    for (let iteration = 0; iteration < ITERATIONS; iteration++) {
      const child = startChild(childScript('wal-crash-child.mjs'), [buildDir, dataDir, compactionRequestsFile], {});
      await waitFor(() => child.lines.some((l) => l.startsWith('open ')) || child.process.exitCode !== null, 10_000, 'the child to open');
      const openLine = child.lines.find((l) => l.startsWith('open '));
      if (!openLine) throw new Error(`child failed to open (seed ${seed}): ${child.stderr()}`);
      const target = 1 + Math.floor(random() * 600);
      const acksIn = () => child.lines.filter((l) => l.startsWith('ack ')).length;
      await waitFor(() => acksIn() >= target || child.process.exitCode !== null, 20_000, `${target} acks`);
      child.process.kill('SIGKILL');
      expect(await child.exited).toBe('SIGKILL');
      if (acksIn() >= target) killedWithAcks++;

      for (const line of child.lines) {
        const [kind, value] = line.split(' ');
        if (kind === 'ack') acknowledged.add(Number(value));
        if (kind === 'term') termAcknowledged = Math.max(termAcknowledged, Number(value));
      }

      // Compaction requests come from a file the child wrote synchronously, not from its stdout
      // (whose last lines a SIGKILL may lose): see the child.
      const compactedUpTo = await highestCompactionRequest();
      const wal = await Wal.open(fs, join(dataDir, 'wal'), { segmentBytesMax: 16 * 1024, logger: silentLogger });
      const hardStates = await HardStateStore.open(fs, dataDir);
      try {
        const maxAck = Math.max(...acknowledged);
        const context = `iteration ${iteration}, seed ${seed}`;
        expect({ context, covers: wal.lastIndex >= maxAck }).toEqual({ context, covers: true });
        // Compaction only ever removes what the child asked for (whole segments at a time).
        expect(wal.firstIndex).toBeLessThanOrEqual(compactedUpTo + 1);
        expect(hardStates.current.term).toBeGreaterThanOrEqual(termAcknowledged);
        const entries = await wal.read(wal.firstIndex, wal.lastIndex + 1);
        expect(entries.length).toBe(wal.lastIndex - wal.firstIndex + 1);
        // Every entry on disk is intact (checksums passed; content is what was written at that index) ...
        const wrong = entries.filter((e) => JSON.stringify({ ...e, data: [...e.data] }) !== JSON.stringify({ ...expectedEntry(e.index), data: [...expectedEntry(e.index).data] }));
        expect(wrong.map((e) => e.index)).toEqual([]);
        // ... and every acknowledged one not compacted away is on disk.
        const missing = [...acknowledged].filter((index) => index >= wal.firstIndex && index > wal.lastIndex);
        expect(missing).toEqual([]);
      } finally {
        await wal.close();
      }
    }
    expect(killedWithAcks).toBeGreaterThan(ITERATIONS / 2);
    // The compaction check above was not vacuous: some children compacted before they died.
    expect(await highestCompactionRequest()).toBeGreaterThan(0);
    expect(acknowledged.size).toBeGreaterThan(ITERATIONS * 10);
  });
});
