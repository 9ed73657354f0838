/**
 * The drills for real, as an operator runs them: `kvctl drill NAME --json` from the built
 * service, on 3 local nodes with a short load. Each must end in PASS with exit 0, having
 * measured its recovery times, lost no acknowledged write and applied no retried write twice
 * (SPEC 6); partition-leader must also show the cut-off leader stepping down and serving
 * nothing (CheckQuorum, Raft 6.4 / 9.6). The live progress goes to stderr.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { dirname } from 'node:path';
import { buildService } from '../e2e/helpers/build.js';
import { DRILL_DEADLINE_MS, type DrillRun, ELECTION_TIMEOUT_MIN_MS, expectPass as expectPassWith, figure, HEARTBEAT_MS, runKvctlDrill } from './helpers/kvctl-drill.js';

/** Seconds of load before the fault and after recovery: short, the checks do not need volume. */
const LOAD_SECONDS = 2;

let dist: string;

beforeAll(async () => {
  dist = dirname(await buildService());
}, 360_000);

function runDrill(name: string): Promise<DrillRun> {
  return runKvctlDrill(dist, [name, '--seconds', String(LOAD_SECONDS)]);
}

function expectPass(run: DrillRun): void {
  expectPassWith(run, expect);
  expect(run.report.nodes).toBe(3);
}

describe('kvctl drill, for real on 3 nodes', () => {
  it('crash-leader: SIGKILL the leader mid-load, restart it; PASS with sane figures', async () => {
    const run = await runDrill('crash-leader');
    expectPass(run);
    expect(run.report.drill).toBe('crash-leader');
    const withoutLeaderMs = figure(run.report, 'time without a leader');
    // A follower campaigns only after an election timeout (300 ms minimum) without a heartbeat
    // (one every 50 ms): a shorter gap would mean the figure measures nothing.
    expect(withoutLeaderMs).toBeGreaterThanOrEqual(ELECTION_TIMEOUT_MIN_MS - HEARTBEAT_MS);
    expect(withoutLeaderMs).toBeLessThan(10_000);
    expect(figure(run.report, 'restart to caught up')).toBeGreaterThan(0);
    // Writes in flight to the killed leader were retried with the same clientId+seq.
    expect(figure(run.report, 'writes retried (same clientId+seq)')).toBeGreaterThan(0);
    expect(run.stderr).toMatch(/SIGKILL leader n\d/);
  }, DRILL_DEADLINE_MS + 10_000);

  it('partition-leader: cut the leader off; new leader, old one steps down and serves nothing; heal; PASS', async () => {
    const run = await runDrill('partition-leader');
    expectPass(run);
    const electedMs = figure(run.report, 'cut to new leader');
    const stepDownMs = figure(run.report, 'cut to old leader stepping down');
    expect(electedMs).toBeGreaterThanOrEqual(ELECTION_TIMEOUT_MIN_MS - HEARTBEAT_MS);
    expect(stepDownMs).toBeGreaterThan(0);
    expect(stepDownMs).toBeLessThan(10_000);
    expect(figure(run.report, 'linearizable reads sent to the cut-off node')).toBeGreaterThan(0);
    expect(figure(run.report, 'writes sent to the cut-off node')).toBeGreaterThan(0);
    expect(run.report.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['cut-off node answered no linearizable read', 'cut-off node acknowledged no write']));
    expect(figure(run.report, 'heal to old leader caught up')).toBeGreaterThanOrEqual(0);
  }, DRILL_DEADLINE_MS + 10_000);
});
