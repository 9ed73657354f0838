/**
 * Runs one drill end to end: start a local cluster (3 or 5 nodes, temp data dir, every peer
 * link through a proxy), or connect to the one `npm start` supervises (`existing`), wait for a
 * leader, start the client load, let the drill act, stop the load, verify every node's state
 * against what was acknowledged, and build the report. A local cluster is destroyed whatever
 * happens; an existing one is left healed and running, its data untouched but for the keys the
 * drill wrote (under `drill/<name>/<run>/`). An error inside the drill is a FAIL with its
 * message, never a crash without a report.
 */
import type { Check, DrillContext, Figure } from './drill.js';
import { DRILLS } from './drills.js';
import { DrillLoad } from './load.js';
import type { DrillCluster } from './drill-cluster.js';
import { ProcessCluster } from './process-cluster.js';
import { RemoteCluster } from './remote-cluster.js';
import { type DrillReport, Progress, type ProgressSink, verdictOf } from './report.js';
import { type Verification, verifyCluster } from './verify.js';
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
  /** Act on the cluster whose supervisor serves this control API (`npm start`) instead of starting one. */
  readonly existing?: { readonly controlUrl: string };
}

/** Tells this run's keys and clientIds apart from any earlier run's on the same cluster. */
function runId(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}`;
}

/** The figures, checks and problems the end verification adds to a report. */
export function verificationFindings(verification: Verification, retriedWrites: number, gaveUp: number, longestAckGapMs: number, nodes: number): { figures: Figure[]; checks: Check[]; problems: string[] } {
  return {
    figures: [
      { name: 'writes acknowledged', value: verification.acknowledged, unit: '' },
      { name: 'writes retried (same clientId+seq)', value: retriedWrites, unit: '' },
      { name: 'writes given up (outcome unknown)', value: gaveUp, unit: '' },
      { name: 'longest wait for an ack', value: Math.round(longestAckGapMs), unit: 'ms' },
      { name: 'final commit index', value: verification.commitIndex, unit: '' },
      { name: 'acknowledged writes lost', value: verification.lost, unit: '' },
      { name: 'retried writes applied twice', value: verification.duplicated, unit: '' },
    ],
    checks: [
      { name: 'no acknowledged write lost', ok: verification.lost === 0, detail: `${verification.lost} lost of ${verification.acknowledged}` },
      { name: 'no write applied twice', ok: verification.duplicated === 0, detail: `${verification.duplicated} applied twice` },
      { name: "each client's writes in its order", ok: verification.outOfOrder === 0 && verification.neverSent === 0, detail: `${verification.outOfOrder} out of order, ${verification.neverSent} never sent` },
      { name: 'every node holds the same state', ok: verification.statesEqual, detail: `${nodes} nodes at commit index ${verification.commitIndex}` },
    ],
    problems: [...verification.problems],
  };
}

export async function runDrill(options: DrillOptions): Promise<DrillReport> {
  const drill = DRILLS.get(options.drill);
  if (drill === undefined) throw new RangeError(`unknown drill ${JSON.stringify(options.drill)} (drills: ${[...DRILLS.keys()].join(', ')})`);
  const startedAt = performance.now();
  const figures: Figure[] = [];
  const checks: Check[] = [];
  const problems: string[] = [];
  const run = runId();
  const cluster: DrillCluster =
    options.existing === undefined
      ? await ProcessCluster.start({ nodes: options.nodes, mainJs: options.mainJs, flags: drill.nodeFlags })
      : await RemoteCluster.connect(options.existing.controlUrl);
  const load = new DrillLoad(cluster.endpoints, {
    writers: LOAD_WRITERS,
    prefix: `drill/${drill.name}/${run}/`,
    clientIdPrefix: `drill-${run}-c`,
    requestTimeoutMs: LOAD_REQUEST_TIMEOUT_MS,
    retryBudgetMs: LOAD_RETRY_BUDGET_MS,
  });
  const progress = new Progress(options.progress, drill.name, () => `acks ${load.acks}, retried ${load.retriedWrites}, gave up ${load.failures}`);
  const ctx: DrillContext = {
    cluster,
    existing: options.existing !== undefined,
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
    const findings = verificationFindings(verification, load.retriedWrites, load.failures, load.longestAckGapMs, cluster.nodes.length);
    figures.push(...findings.figures);
    checks.push(...findings.checks);
    problems.push(...findings.problems);
  } catch (error) {
    checks.push({ name: 'drill ran to the end', ok: false, detail: (error as Error).message.split('\n')[0]! });
    problems.push((error as Error).message);
  } finally {
    progress.stop();
    await load.stop().catch(() => undefined);
    await cluster.destroy().catch((error: unknown) => {
      // An existing cluster the drill could not put back (a node it stopped, a link it cut) is the operator's to know about.
      checks.push({ name: 'cluster left as found', ok: false, detail: (error as Error).message.split('\n')[0]! });
      problems.push((error as Error).message);
    });
  }
  return {
    drill: drill.name,
    nodes: cluster.nodes.length,
    cluster: cluster.where,
    seconds: options.seconds,
    verdict: verdictOf(checks),
    figures,
    checks,
    problems,
    elapsedMs: Math.round(performance.now() - startedAt),
  };
}
