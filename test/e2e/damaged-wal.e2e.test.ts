/**
 * Damaged WAL drill, real processes (SPEC 5: "damage anywhere else [than a torn tail] refuses to
 * start with a message naming the file and offset; it never silently drops committed data").
 * A stopped follower gets one byte flipped in a record in the middle of its WAL segment; it must
 * exit non-zero naming the segment and the record's offset, leave the file as it was, and once
 * the byte is put back start and catch up. (A second process on a data directory in use is
 * cluster.e2e.test.ts's.)
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buildService } from './helpers/build.js';
import { LocalCluster } from './helpers/cluster.js';
import { kvUrl, request } from './helpers/http.js';
import { until } from './helpers/poll.js';

const WRITES = 30;
const ELECTION_DEADLINE_MS = 30_000;
const EXIT_DEADLINE_MS = 30_000;
const CATCH_UP_DEADLINE_MS = 30_000;
/** SPEC 5's record framing: length u32 | crc32c u32 | payload. */
const FRAME_HEADER_BYTES = 8;

let cluster: LocalCluster | undefined;

beforeAll(async () => {
  const mainJs = await buildService();
  cluster = await LocalCluster.start(mainJs);
}, 360_000);

afterAll(async () => {
  await cluster?.destroy();
}, 60_000);

/** Byte offsets of the records of a segment, read from its framing (up to zeros or the end). */
function recordOffsets(segment: Buffer): number[] {
  const offsets: number[] = [];
  for (let at = 0; at + FRAME_HEADER_BYTES <= segment.length; ) {
    const length = segment.readUInt32LE(at);
    if (length === 0 || at + FRAME_HEADER_BYTES + length > segment.length) break;
    offsets.push(at);
    at += FRAME_HEADER_BYTES + length;
  }
  return offsets;
}

describe('damaged WAL drill', () => {
  it('refuses to start on a flipped byte mid-segment, naming file and offset, and starts once it is repaired', async () => {
    const c = cluster!;
    const leader = await c.waitForLeader(ELECTION_DEADLINE_MS);
    const leaderUrl = c.node(leader.id).url;
    for (let i = 0; i < WRITES; i++) {
      const r = await request(kvUrl(leaderUrl, `wal/k${i}`), { method: 'PUT', body: { value: `v${i}` } });
      expect(r.status).toBe(200);
    }
    const victim = c.nodes.find((n) => n.id !== leader.id)!;
    const commitIndex = (await c.status(leader.id))!.commitIndex;
    await until(`${victim.id} to apply ${commitIndex}`, CATCH_UP_DEADLINE_MS, async () => ((await c.status(victim.id))?.lastApplied ?? 0) >= commitIndex || undefined);
    expect(await c.kill(victim.id, 'SIGTERM')).toEqual({ code: 0, signal: null });

    const walDir = join(victim.dataDir, 'wal');
    const segments = (await readdir(walDir)).filter((name) => name.endsWith('.wal')).sort();
    expect(segments.length).toBeGreaterThan(0);
    const segmentPath = join(walDir, segments[segments.length - 1]!);
    const original = await readFile(segmentPath);
    const offsets = recordOffsets(original);
    expect(offsets.length).toBeGreaterThanOrEqual(WRITES);
    // A record in the middle: valid records follow it, so this cannot pass for a torn tail.
    const damagedOffset = offsets[Math.floor(offsets.length / 2)]!;
    const flippedAt = damagedOffset + FRAME_HEADER_BYTES + 1;
    const damaged = Buffer.from(original);
    damaged[flippedAt] = damaged[flippedAt]! ^ 0xff;
    await writeFile(segmentPath, damaged);

    // Meanwhile the other two keep serving: this write is what the repaired node must catch up on.
    const during = await request(kvUrl(leaderUrl, 'wal/during'), { method: 'PUT', body: { value: 'written while damaged' } });
    expect(during.status).toBe(200);

    const startedAt = performance.now();
    const exit = await c.runOnce(victim.args, EXIT_DEADLINE_MS);
    const exitMs = Math.round(performance.now() - startedAt);
    expect(exit.code).not.toBeNull();
    expect(exit.code).not.toBe(0);
    expect(exit.stderr).toContain(segments[segments.length - 1]!);
    expect(exit.stderr).toContain(`byte offset ${damagedOffset}`);
    // Refusing did not "repair" the file by cutting it short: every record is still there.
    expect((await readFile(segmentPath)).equals(damaged)).toBe(true);
    console.log(`damaged WAL drill: ${victim.id} refused to start in ${exitMs} ms (exit ${exit.code}): ${exit.stderr.trim()}`);

    await writeFile(segmentPath, original);
    c.restart(victim.id);
    const read = await until(`${victim.id}, repaired, to serve the write made while it was down`, CATCH_UP_DEADLINE_MS, async () => {
      const r = await request(kvUrl(victim.url, 'wal/during') + '?consistency=stale');
      return r.status === 200 ? r : undefined;
    }, { describe: () => c.describe() });
    expect(read.body.value).toBe('written while damaged');
    const before = await request(kvUrl(victim.url, `wal/k${WRITES - 1}`) + '?consistency=stale');
    expect(before.body.value).toBe(`v${WRITES - 1}`);
  }, 120_000);
});
