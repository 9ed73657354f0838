/**
 * lagging-follower and pause-leader for real: `kvctl drill NAME --json` on 3 local nodes with a
 * short load. lagging-follower must show the follower catching up through InstallSnapshot
 * (Raft 7, SPEC 5) with its time and the bytes the leader sent; pause-leader must show a new
 * leader elected while the old one was stopped, and the old one, raced the instant it resumes,
 * serving no stale read and accepting no write in its old term (Raft 5.1, 8).
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { dirname } from 'node:path';
import { SNAPSHOT_ENTRIES } from '../../src/drill/drills/lagging-follower.js';
import { PAUSE_MS_MIN } from '../../src/drill/drills/pause-leader.js';
import { buildService } from '../e2e/helpers/build.js';
import { check, DRILL_DEADLINE_MS, ELECTION_TIMEOUT_MIN_MS, expectPass, figure, figureMatching, HEARTBEAT_MS, runKvctlDrill } from './helpers/kvctl-drill.js';

const LOAD_SECONDS = 1;

let dist: string;

beforeAll(async () => {
  dist = dirname(await buildService());
}, 360_000);

describe('the new drills, for real on 3 nodes', () => {
  it('lagging-follower: the restarted follower catches up through InstallSnapshot; time and bytes reported', async () => {
    const run = await runKvctlDrill(dist, ['lagging-follower', '--seconds', String(LOAD_SECONDS)]);
    expectPass(run, expect);
    expect(run.report.nodes).toBe(3);
    const logEnd = figureMatching(run.report, /^n\d log end when stopped$/);
    const leaderSnapshot = figureMatching(run.report, /^n\d snapshot index at restart$/);
    // Two snapshot thresholds past what the follower held: its next entry is compacted away.
    expect(leaderSnapshot).toBeGreaterThanOrEqual(logEnd + 2 * SNAPSHOT_ENTRIES);
    expect(figure(run.report, 'snapshots installed by the follower')).toBeGreaterThanOrEqual(1);
    expect(check(run.report, 'caught up through InstallSnapshot').ok).toBe(true);
    const bytes = figureMatching(run.report, /^bytes sent n\d -> n\d, restart to caught up$/);
    expect(bytes).toBeGreaterThanOrEqual(figureMatching(run.report, /^n\d snapshot size$/));
    expect(figure(run.report, 'restart to caught up')).toBeGreaterThan(0);
    expect(run.stderr).toMatch(/stop follower n\d \(SIGTERM\)/);
  }, DRILL_DEADLINE_MS + 10_000);

  it('pause-leader: SIGSTOP past the election timeout; new leader; the resumed old leader serves nothing stale', async () => {
    const run = await runKvctlDrill(dist, ['pause-leader', '--seconds', String(LOAD_SECONDS)]);
    expectPass(run, expect);
    const electedMs = figure(run.report, 'SIGSTOP to new leader');
    // No follower campaigns before an election timeout without a heartbeat.
    expect(electedMs).toBeGreaterThanOrEqual(ELECTION_TIMEOUT_MIN_MS - HEARTBEAT_MS);
    expect(figure(run.report, 'pause length')).toBeGreaterThanOrEqual(PAUSE_MS_MIN);
    const read = check(run.report, 'old leader served no stale read');
    const write = check(run.report, 'old leader accepted no write in the old term');
    expect(read.ok && write.ok).toBe(true);
    // Both probes of each kind were answered or timed out, and reported.
    expect(read.detail).toMatch(/read \(sent paused\): .*; read \(sent at SIGCONT\): /);
    expect(write.detail).toMatch(/write \(sent paused\): .*; write \(sent at SIGCONT\): /);
    expect(read.detail).not.toContain('STALE');
    expect(check(run.report, 'every write the old leader acknowledged is applied everywhere').ok).toBe(true);
  }, DRILL_DEADLINE_MS + 10_000);
});
