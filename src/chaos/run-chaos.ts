/**
 * One chaos run end to end: start a cluster of real node processes (every peer link through a
 * proxy), wait for a leader, run the clients while the seeded faults come and go, then heal
 * and resume everything, wait for a leader and for every node to apply the same index, read
 * every key linearizably (those reads join the history) and every node's own state, judge it
 * all (verdict.ts), and write the history and the report. The cluster is destroyed whatever
 * happens; a run that cannot finish is a FAIL that says why, never a crash without a report.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { KvClient } from '../client/kv-client.js';
import { Prng } from '../consensus/core/prng.js';
import { ProcessCluster } from '../drill/process-cluster.js';
import { Progress, type ProgressSink } from '../drill/report.js';
import { staleListing } from '../drill/verify.js';
import { HistoryRecorder, type HistoryOp } from '../history-checks/history.js';
import { replayCommand, type ChaosOptions } from './chaos-options.js';
import { countOps, measureRecovery, writeChaosFiles, type ChaosReport } from './chaos-report.js';
import { FaultInjector } from './faults.js';
import { judge, type NodeState } from './verdict.js';
import { chaosKeys, KEY_PREFIX, Workload, type OpNotes } from './workload.js';

/** Generous: the machine may be busy; a crashed node alone waits about 5 s for its stale lock. */
const STEP_DEADLINE_MS = 60_000;
/** One attempt gives up after this (below the server's 5 s), so a client stuck on a paused or cut-off node moves on. */
const REQUEST_TIMEOUT_MS = 2000;
/**
 * A write is retried with the same clientId+seq this long before its outcome is left unknown.
 * Client i gets budget i modulo this list. The 3 s and 6 s budgets ride out most faults, so most
 * ops keep an answer that constrains the history; the 700 ms one (below an election after a
 * leader crash) gives up during most leader faults, so some writes end unknown and may still
 * commit later, which the checker must allow.
 */
const RETRY_BUDGETS_MS: readonly number[] = [3000, 6000, 700];
/** The final reads run on a healed cluster: they may wait longer. */
const FINAL_READ_RETRY_BUDGET_MS = 30_000;
const THINK_MS_MAX = 10;
const LEADER_POLL_MS = 1000;
const FINAL_READER_ID = 'chaos-final';

export interface ChaosIo {
  /** Where the live progress line goes; null: nowhere. */
  readonly progress: ProgressSink | null;
  /** The service entry point; default dist/main.js beside this code. */
  readonly mainJs?: string;
}

interface FinalState {
  readonly finalValues: Map<string, string | null>;
  readonly nodeStates: NodeState[];
  readonly commitIndex: number;
  readonly healToLeaderMs: number;
  readonly healToAllAppliedMs: number;
}

export async function runChaos(options: ChaosOptions, io: ChaosIo): Promise<ChaosReport> {
  const startedAt = performance.now();
  const random = new Prng(options.seed);
  const workloadRandom = random.fork();
  const faultRandom = random.fork();
  const history = new HistoryRecorder();
  const notes = new Map<number, OpNotes>();
  const problems: string[] = [];
  const onProblem = (text: string): void => {
    problems.push(text);
  };
  const keys = chaosKeys(options.keys);
  let runStartedAt = performance.now();
  const elapsedMs = (): number => performance.now() - runStartedAt;

  const cluster = await ProcessCluster.start({ nodes: options.nodes, ...(io.mainJs === undefined ? {} : { mainJs: io.mainJs }) });
  const injector = new FaultInjector(cluster, { kinds: options.faults, random: faultRandom, elapsedMs, onProblem });
  const workload = new Workload({
    endpoints: cluster.endpoints,
    nodeIdByUrl: new Map(cluster.nodes.map((n) => [n.url, n.id])),
    clients: options.clients,
    keys,
    random: workloadRandom,
    history,
    notes,
    elapsedMs,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    retryBudgetsMs: RETRY_BUDGETS_MS,
    thinkMsMax: THINK_MS_MAX,
    onProblem,
  });
  const leaderSeen = { id: '?' };
  const c = workload.counts;
  const progress = new Progress(io.progress, `chaos seed ${options.seed}`, () => {
    const seconds = Math.min(options.seconds, Math.floor(elapsedMs() / 1000));
    return `${seconds}/${options.seconds} s | ops ${c.invoked}, acked ${c.acked}, unknown ${c.unknown}, failed ${c.failed} | faults: ${injector.describeActive() || 'none'} | leader ${leaderSeen.id}`;
  });
  const leaderPoll = setInterval(() => void pollLeader(cluster, leaderSeen), LEADER_POLL_MS);
  leaderPoll.unref();

  let final: FinalState | null = null;
  progress.start();
  try {
    progress.phase('wait for a leader');
    await cluster.waitForLeader(STEP_DEADLINE_MS);
    runStartedAt = performance.now();
    progress.phase('clients under faults');
    workload.start();
    injector.start(options.seconds * 1000);
    // The run's length: the workload and the faults go on meanwhile.
    await delay(options.seconds * 1000);
    progress.phase('heal and resume everything');
    const healAt = elapsedMs();
    await injector.stop();
    await workload.stop();
    progress.phase('wait for recovery, read every key and every node');
    final = await readFinalState(cluster, history, notes, keys.mixed, [...keys.appendOnlyUsed], elapsedMs, healAt);
  } catch (error) {
    problems.push(`the run could not finish: ${(error as Error).message}`);
  } finally {
    clearInterval(leaderPoll);
    progress.stop();
    injector.stopWatching();
    await injector.stop().catch(() => undefined);
    await workload.stop().catch(() => undefined);
    await cluster.destroy();
  }

  const recorded = history.history();
  const checked = recorded.filter((op) => notes.get(op.id)?.outcome !== 'failed');
  const checkStartedAt = performance.now();
  const verdict = judge({
    history: checked,
    appendOnlyKeys: [...keys.appendOnlyUsed],
    finalValues: final?.finalValues ?? null,
    nodeStates: final?.nodeStates ?? [],
    problems,
  });
  const checkMs = Math.round(performance.now() - checkStartedAt);
  measureRecovery(injector.records, recorded);
  const recoveries = injector.records.map((f) => f.recoveryMs).filter((v): v is number => v !== null).sort((a, b) => a - b);
  const faultsByKind: Record<string, number> = {};
  for (const f of injector.records) faultsByKind[f.kind] = (faultsByKind[f.kind] ?? 0) + 1;
  const report: ChaosReport = {
    seed: options.seed,
    replay: replayCommand(options),
    nodes: options.nodes,
    seconds: options.seconds,
    faultKinds: options.faults,
    clients: options.clients,
    keys: options.keys,
    outDir: options.outDir,
    ops: countOps(recorded, notes),
    faults: injector.records,
    faultsByKind,
    recovery: {
      healToLeaderMs: final?.healToLeaderMs ?? null,
      healToAllAppliedMs: final?.healToAllAppliedMs ?? null,
      faultToAckMaxMs: recoveries.length === 0 ? null : recoveries[recoveries.length - 1]!,
      faultToAckMedianMs: recoveries.length === 0 ? null : recoveries[Math.floor(recoveries.length / 2)]!,
      faultsWithoutAck: injector.records.length - recoveries.length,
    },
    commitIndex: final?.commitIndex ?? null,
    linearizability: { ...verdict.linearizability, checkMs },
    checks: verdict.checks,
    problems: verdict.problems,
    verdict: verdict.verdict,
    elapsedMs: Math.round(performance.now() - startedAt),
  };
  await writeChaosFiles(report, recorded, notes);
  return report;
}

/**
 * After the heal: a leader, every node at the same applied index, then every key read
 * linearizably (recorded in the history as one more client) and every node's own state.
 */
async function readFinalState(
  cluster: ProcessCluster,
  history: HistoryRecorder,
  notes: Map<number, OpNotes>,
  mixedKeys: readonly string[],
  appendOnlyKeys: readonly string[],
  elapsedMs: () => number,
  healAt: number,
): Promise<FinalState> {
  const stopped = cluster.nodes.filter((n) => !n.running || n.paused).map((n) => n.id);
  if (stopped.length > 0) throw new Error(`after the heal ${stopped.join(', ')} is not running\n${cluster.describe()}`);
  await cluster.waitForLeader(STEP_DEADLINE_MS);
  const healToLeaderMs = Math.round(elapsedMs() - healAt);
  const commitIndex = await cluster.waitForAllApplied(STEP_DEADLINE_MS);
  const healToAllAppliedMs = Math.round(elapsedMs() - healAt);

  const reader = new KvClient({ endpoints: cluster.endpoints, clientId: FINAL_READER_ID, requestTimeoutMs: REQUEST_TIMEOUT_MS, retryBudgetMs: FINAL_READ_RETRY_BUDGET_MS });
  const touched = new Set<string>([...mixedKeys, ...appendOnlyKeys, ...history.history().map((op: HistoryOp) => op.op.key)]);
  const finalValues = new Map<string, string | null>();
  for (const key of [...touched].sort()) {
    const id = history.invoke(FINAL_READER_ID, 0, { kind: 'get', key }, Math.round(elapsedMs()));
    notes.set(id, { outcome: 'unknown', attempts: [] });
    const answer = await reader.get(key, { consistency: 'linearizable' });
    const value = answer?.value ?? null;
    history.complete(id, { kind: 'get', value }, Math.round(elapsedMs()));
    notes.get(id)!.outcome = 'ok';
    finalValues.set(key, value);
  }
  const nodeStates = await Promise.all(cluster.nodes.map(async (n) => ({ node: n.id, values: await staleListing(n.url, KEY_PREFIX) })));
  return { finalValues, nodeStates, commitIndex, healToLeaderMs, healToAllAppliedMs };
}

async function pollLeader(cluster: ProcessCluster, seen: { id: string }): Promise<void> {
  const statuses = await cluster.statuses();
  const leader = statuses.filter((s) => s.role === 'leader').sort((a, b) => b.term - a.term)[0];
  seen.id = leader === undefined ? 'none' : `${leader.id} (term ${leader.term})`;
}
