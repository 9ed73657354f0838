/**
 * Runs one drill end to end: start a local cluster (3 or 5 nodes, temp data dir, every peer
 * link through a proxy), wait for a leader, start the client load, let the drill act, stop
 * the load, verify every node's state against what was acknowledged, and build the report.
 * The cluster is destroyed whatever happens; an error inside the drill is a FAIL with its
 * message, never a crash without a report.
 */
import type { Check, DrillContext, Figure } from './drill.js';
import { DRILLS } from './drills.js';
import { DrillLoad } from './load.js';
import { ProcessCluster } from './process-cluster.js';
import { type DrillReport, Progress, type ProgressSink } from './report.js';
import { verifyCluster } from './verify.js';
import { setTimeout as delay } from 'node:timers/promises';

const LOAD_WRITERS = 4;
/** One attempt gives up after this (below the server's 5 s), so a client stuck on a dead or cut-off node moves on quickly. */
const LOAD_REQUEST_TIMEOUT_MS = 2000;
const LOAD_RETRY_BUDGET_MS = 30_000;
/** Generous: the machine may be busy; a restart alone waits about 5 s for a stale lock. */
const STEP_DEADLINE_MS = 45_000;

export interface DrillOptions {
  readonly drill: string;
  readonly nodes: number;
  readonly seconds: number;
  /** The service entry point; default dist/main.js beside this code. */
  readonly mainJs?: string;
  /** Where the progress line goes; null: nowhere. */
  readonly progress: ProgressSink | null;
}

export async function runDrill(options: DrillOptions): Promise<DrillReport> {
  const drill = DRILLS.get(options.drill);
  if (drill === undefined) throw new RangeError(`unknown drill ${JSON.stringify(options.drill)} (drills: ${[...DRILLS.keys()].join(', ')})`);
  const startedAt = performance.now();
  const figures: Figure[] = [];
  const checks: Check[] = [];
  const problems: string[] = [];
  const cluster = await ProcessCluster.start({ nodes: options.nodes, mainJs: options.mainJs, flags: drill.nodeFlags });
  const load = new DrillLoad(cluster.endpoints, {
    writers: LOAD_WRITERS,
    prefix: `drill/${drill.name}/`,
    requestTimeoutMs: LOAD_REQUEST_TIMEOUT_MS,
    retryBudgetMs: LOAD_RETRY_BUDGET_MS,
  });
  const progress = new Progress(options.progress, drill.name, () => `acks ${load.acks}, retried ${load.retriedWrites}, gave up ${load.failures}`);
  const ctx: DrillContext = {
    cluster,
    load,
    progress,
    phaseMs: options.seconds * 1000,
    stepDeadlineMs: STEP_DEADLINE_MS,
    figure: (name, value, unit) => figures.push({ name, value: Math.round(value * 10) / 10, unit }),
    check: (name, ok, detail) => checks.push({ name, ok, detail }),
    runLoad: (ms) => delay(ms),
  };
  progress.start();
  try {
    await cluster.waitForLeader(STEP_DEADLINE_MS);
    load.start();
    await drill.run(ctx);
    progress.phase('stop the load, verify every node');
    await load.stop();
    const verification = await verifyCluster(cluster, load, STEP_DEADLINE_MS);
    figures.push(
      { name: 'writes acknowledged', value: verification.acknowledged, unit: '' },
      { name: 'writes retried (same clientId+seq)', value: load.retriedWrites, unit: '' },
      { name: 'writes given up (outcome unknown)', value: load.failures, unit: '' },
      { name: 'longest wait for an ack', value: Math.round(load.longestAckGapMs), unit: 'ms' },
      { name: 'final commit index', value: verification.commitIndex, unit: '' },
      { name: 'acknowledged writes lost', value: verification.lost, unit: '' },
      { name: 'retried writes applied twice', value: verification.duplicated, unit: '' },
    );
    checks.push(
      { name: 'no acknowledged write lost', ok: verification.lost === 0, detail: `${verification.lost} lost of ${verification.acknowledged}` },
      { name: 'no write applied twice', ok: verification.duplicated === 0, detail: `${verification.duplicated} applied twice` },
      { name: "each client's writes in its order", ok: verification.outOfOrder === 0 && verification.neverSent === 0, detail: `${verification.outOfOrder} out of order, ${verification.neverSent} never sent` },
      { name: 'every node holds the same state', ok: verification.statesEqual, detail: `${cluster.nodes.length} nodes at commit index ${verification.commitIndex}` },
    );
    problems.push(...verification.problems);
  } catch (error) {
    checks.push({ name: 'drill ran to the end', ok: false, detail: (error as Error).message.split('\n')[0]! });
    problems.push((error as Error).message);
  } finally {
    progress.stop();
    await load.stop().catch(() => undefined);
    await cluster.destroy();
  }
  const verdict = checks.length > 0 && checks.every((c) => c.ok) ? 'PASS' : 'FAIL';
  return { drill: drill.name, nodes: options.nodes, seconds: options.seconds, verdict, figures, checks, problems, elapsedMs: Math.round(performance.now() - startedAt) };
}
