/** Runs `kvctl drill ... --json` from a build of the service, as an operator does, and reads its report. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { DrillReport } from '../../../src/drill/report.js';
import { REPO_ROOT } from '../../e2e/helpers/build.js';

/** A drill that has not ended by then has hung (each of its steps has its own 45 s bound). */
export const DRILL_DEADLINE_MS = 90_000;

export interface DrillRun {
  readonly code: number | null;
  readonly report: DrillReport;
  readonly stderr: string;
}

/** `distDir`: the folder holding main.js and cli/kvctl.js. */
export function runKvctlDrill(distDir: string, args: readonly string[]): Promise<DrillRun> {
  const kvctl = join(distDir, 'cli', 'kvctl.js');
  const child = spawn(process.execPath, [kvctl, 'drill', ...args, '--json'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      // SIGINT lets the drill clean up its nodes and temp dir.
      child.kill('SIGINT');
      reject(new Error(`drill ${args.join(' ')} did not end within ${DRILL_DEADLINE_MS} ms; stderr:\n${stderr}`));
    }, DRILL_DEADLINE_MS);
    child.on('exit', (code) => {
      clearTimeout(deadline);
      try {
        resolve({ code, report: JSON.parse(stdout) as DrillReport, stderr });
      } catch {
        reject(new Error(`drill ${args.join(' ')} printed no JSON report (exit ${code}); stdout:\n${stdout}\nstderr:\n${stderr}`));
      }
    });
  });
}

export function figure(report: DrillReport, name: string): number {
  const found = report.figures.find((f) => f.name === name);
  if (found === undefined) throw new Error(`the report has no figure ${JSON.stringify(name)}: ${JSON.stringify(report.figures)}`);
  return found.value;
}

/** The figure whose name matches, for names that carry node ids. */
export function figureMatching(report: DrillReport, pattern: RegExp): number {
  const found = report.figures.find((f) => pattern.test(f.name));
  if (found === undefined) throw new Error(`the report has no figure matching ${pattern}: ${JSON.stringify(report.figures)}`);
  return found.value;
}

export function check(report: DrillReport, name: string): { ok: boolean; detail: string } {
  const found = report.checks.find((c) => c.name === name);
  if (found === undefined) throw new Error(`the report has no check ${JSON.stringify(name)}: ${JSON.stringify(report.checks)}`);
  return found;
}

/** PASS, exit 0, and the end verification's figures sane. */
export function expectPass(run: DrillRun, expect: typeof import('@jest/globals').expect): void {
  // The failed checks and problems, shown if the verdict is not PASS.
  expect({ verdict: run.report.verdict, failed: run.report.checks.filter((c) => !c.ok), problems: run.report.problems }).toEqual({ verdict: 'PASS', failed: [], problems: [] });
  expect(run.code).toBe(0);
  expect(figure(run.report, 'acknowledged writes lost')).toBe(0);
  expect(figure(run.report, 'retried writes applied twice')).toBe(0);
  const acknowledged = figure(run.report, 'writes acknowledged');
  expect(acknowledged).toBeGreaterThan(0);
  // Each acknowledged write is one entry; the commit index also counts leaders' no-op entries.
  expect(figure(run.report, 'final commit index')).toBeGreaterThanOrEqual(acknowledged);
  expect(run.stderr).toContain('stop the load, verify every node');
}

/** The service's default election timeout lower bound and heartbeat (SPEC 1), for bounds on measured times. */
export const ELECTION_TIMEOUT_MIN_MS = 300;
export const HEARTBEAT_MS = 50;
