/**
 * The drills for real, as an operator runs them: `kvctl drill NAME --json` from the built
 * service, on 3 local nodes with a short load. Each must end in PASS with exit 0, having
 * measured its recovery times, lost no acknowledged write and applied no retried write twice
 * (SPEC 6); partition-leader must also show the cut-off leader stepping down and serving
 * nothing (CheckQuorum, Raft 6.4 / 9.6). The live progress goes to stderr.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import type { DrillReport } from '../../src/drill/report.js';
import { buildService, REPO_ROOT } from '../e2e/helpers/build.js';

/** Seconds of load before the fault and after recovery: short, the checks do not need volume. */
const LOAD_SECONDS = 2;
/** A drill that has not ended by then has hung (each of its steps has its own 45 s bound). */
const DRILL_DEADLINE_MS = 90_000;
/** The service's defaults (SPEC 1). */
const ELECTION_TIMEOUT_MIN_MS = 300;
const HEARTBEAT_MS = 50;

let kvctl: string;

beforeAll(async () => {
  kvctl = join(dirname(await buildService()), 'cli', 'kvctl.js');
}, 360_000);

interface DrillRun {
  readonly code: number | null;
  readonly report: DrillReport;
  readonly stderr: string;
}

function runDrill(name: string): Promise<DrillRun> {
  const child = spawn(process.execPath, [kvctl, 'drill', name, '--seconds', String(LOAD_SECONDS), '--json'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      // SIGINT lets the drill clean up its nodes and temp dir.
      child.kill('SIGINT');
      reject(new Error(`drill ${name} did not end within ${DRILL_DEADLINE_MS} ms; stderr:\n${stderr}`));
    }, DRILL_DEADLINE_MS);
    child.on('exit', (code) => {
      clearTimeout(deadline);
      try {
        resolve({ code, report: JSON.parse(stdout) as DrillReport, stderr });
      } catch {
        reject(new Error(`drill ${name} printed no JSON report (exit ${code}); stdout:\n${stdout}\nstderr:\n${stderr}`));
      }
    });
  });
}

function figure(report: DrillReport, name: string): number {
  const found = report.figures.find((f) => f.name === name);
  if (found === undefined) throw new Error(`the report has no figure ${JSON.stringify(name)}: ${JSON.stringify(report.figures)}`);
  return found.value;
}

function expectPass(run: DrillRun): void {
  // The failed checks and problems, shown if the verdict is not PASS.
  expect({ verdict: run.report.verdict, failed: run.report.checks.filter((c) => !c.ok), problems: run.report.problems }).toEqual({ verdict: 'PASS', failed: [], problems: [] });
  expect(run.code).toBe(0);
  expect(run.report.nodes).toBe(3);
  expect(figure(run.report, 'acknowledged writes lost')).toBe(0);
  expect(figure(run.report, 'retried writes applied twice')).toBe(0);
  const acknowledged = figure(run.report, 'writes acknowledged');
  expect(acknowledged).toBeGreaterThan(0);
  // Each acknowledged write is one entry; the commit index also counts leaders' no-op entries.
  expect(figure(run.report, 'final commit index')).toBeGreaterThanOrEqual(acknowledged);
  // The live progress line named the phases as they happened.
  expect(run.stderr).toContain('stop the load, verify every node');
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
