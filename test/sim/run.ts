import { Prng } from '../../src/consensus/core/prng.js';
import { RAFT_DEFAULTS } from '../../src/consensus/core/raft.js';
import { checkExactlyOnce } from '../../src/history-checks/exactly-once.js';
import { checkLinearizability } from '../../src/history-checks/linearizability.js';
import { SimCluster } from './cluster.js';
import { MemoryDurableStore, type DurableStore } from './durable-store.js';
import { FaultScheduler, swarmDiskFaults, swarmFaults, type DiskFaultOptions, type FaultOptions } from './faults.js';
import { KvModel, type KvStateMachine } from '../../src/history-checks/kv-model.js';
import type { RaftTuning } from './sim-node.js';
import { StorageDurableStore } from './storage-durable-store.js';

/**
 * One seeded simulation: a fault phase (loss, delay, reordering, duplication, changing
 * partitions, crashes and restarts, stalls, skewed clocks) with clients running, then a liveness
 * phase in which every fault is healed and the cluster must elect a leader, finish every pending
 * client op and converge within a bound. Safety is checked after every tick; linearizability and
 * exactly-once at the end. Same seed, same run, byte for byte.
 *
 * With `diskFaults`, every node keeps its state with the real storage code (RaftStorage) on its
 * own simulated disk, and the fault phase adds power losses (one node, a minority, all at once,
 * some in the middle of a write), disk errors and a latent bit flip. The simulation is async
 * because the storage is; simulated disk operations complete as resolved promises and every
 * step is awaited in a fixed order, so a seed still replays exactly.
 */

export interface SimOptions {
  readonly seed: number;
  /** Cluster size (3 or 5 in the standard runs). */
  readonly nodes: number;
  readonly faultTicks?: number;
  /** After healing, the cluster has this many ticks to recover, finish client ops and converge. */
  readonly livenessTicksMax?: number;
  /** Default: drawn from the seed in [3, 8]. */
  readonly clients?: number;
  /** Ticks after which a client abandons an op (its outcome stays unknown). Default: drawn from the seed. */
  readonly clientGiveUpAfterTicks?: number;
  /** Default: a profile drawn from the seed (swarm testing); these fields override it. */
  readonly faults?: Partial<FaultOptions>;
  /** Default: drawn from the seed in [10, 100], small so InstallSnapshot happens often. */
  readonly snapshotEveryApplied?: number;
  /** Default: the core's defaults, with flow-control limits and PreVote/CheckQuorum drawn from the seed. */
  readonly tuning?: Partial<RaftTuning>;
  readonly trace?: boolean;
  /** Swap in another state machine (e.g. the real src/kv one) behind the same interface. */
  readonly newStateMachine?: () => KvStateMachine;
  readonly newStore?: (id: string) => DurableStore;
  /** Real storage on simulated disks, with disk faults (overrides newStore). */
  readonly diskFaults?: boolean | Partial<DiskFaultOptions>;
  readonly linearizabilityMaxStepsPerKey?: number;
}

export interface SimStats {
  ticks: number;
  opsInvoked: number;
  opsCompleted: number;
  /** Ops a client gave up on: their outcome is unknown to the checkers (taken effect or not). */
  opsUnknown: number;
  /** Ops checked by the linearizability checker (all invoked ops). */
  opsChecked: number;
  /** Attempts that timed out and were retried with the same clientId+seq on another node. */
  clientRetries: number;
  /** Attempts whose log index was won by another entry: outcome unknown, retried with the same seq. */
  unknownAttempts: number;
  leaderTerms: number;
  committedEntries: number;
  crashes: number;
  restarts: number;
  pauses: number;
  leadershipTransfers: number;
  partitionLayouts: number;
  messagesSent: number;
  messagesDropped: number;
  messagesDuplicated: number;
  snapshotsSent: number;
  snapshotsDelivered: number;
  linearizabilitySteps: number;
  inconclusiveKeys: number;
  /** Unknown-outcome writes whose token a completed op or the final state shows took effect (a lower bound). */
  unknownWritesSeen: number;
  /** Ticks the liveness phase took to recover and converge. */
  recoveryTicks: number;
  /** With disk faults: power losses (events; a mid-write one counts when armed), injected disk errors, nodes crashed by their disk, bit flips, corruptions detected at restart. */
  powerLosses: number;
  diskErrors: number;
  diskFailures: number;
  bitFlips: number;
  corruptionsDetected: number;
}

export interface SimResult {
  readonly ok: boolean;
  readonly seed: number;
  readonly nodes: number;
  readonly violations: readonly string[];
  readonly stats: SimStats;
  readonly trace?: readonly string[];
}

export const DEFAULT_FAULT_TICKS = 1500;
export const DEFAULT_LIVENESS_TICKS_MAX = 1500;

export async function runSimulation(options: SimOptions): Promise<SimResult> {
  const master = new Prng(options.seed);
  const setup = master.fork();
  const random = { network: master.fork(), clients: master.fork(), schedule: master.fork(), cores: master.fork() };
  const faultRandom = master.fork();
  // Forked last: the other generators, and so the rest of the run, are as without disk faults.
  const diskRandom = master.fork();
  const diskFaultOptions = options.diskFaults ? { ...swarmDiskFaults(diskRandom), ...(options.diskFaults === true ? {} : options.diskFaults) } : null;
  const traceLines: string[] | null = options.trace === true ? [] : null;
  const nodeIds = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
  const tuning = chooseTuning(setup, options.tuning);
  const snapshotEveryApplied = options.snapshotEveryApplied ?? setup.nextInt(10, 101);
  const clientCount = options.clients ?? setup.nextInt(3, 9);
  // Patient clients in some seeds, impatient ones (several unknown outcomes per run) in others.
  const giveUpAfterTicks = options.clientGiveUpAfterTicks ?? setup.pick([Infinity, 400, 250]);
  const faultOptions: FaultOptions = { ...swarmFaults(setup), ...options.faults };
  const faultTicks = options.faultTicks ?? DEFAULT_FAULT_TICKS;
  const livenessTicksMax = options.livenessTicksMax ?? DEFAULT_LIVENESS_TICKS_MAX;
  const appendOnlyKeys = ['log1', 'log2'];

  traceLines?.push(
    `seed=${options.seed} nodes=${options.nodes} clients=${clientCount} giveUpAfterTicks=${giveUpAfterTicks} snapshotEveryApplied=${snapshotEveryApplied}`,
    `tuning=${JSON.stringify(tuning)}`,
    `faults=${JSON.stringify(faultOptions)}`,
    ...(diskFaultOptions === null ? [] : [`diskFaults=${JSON.stringify(diskFaultOptions)}`]),
  );
  const storeRandom = diskRandom.fork();
  const newStore = diskFaultOptions !== null ? () => new StorageDurableStore(storeRandom.fork()) : (options.newStore ?? (() => new MemoryDurableStore()));
  const cluster = new SimCluster({
    nodeIds,
    tuning,
    snapshotEveryApplied,
    clients: {
      clientCount,
      keys: ['x', 'y', 'z'],
      appendOnlyKeys,
      requestTimeoutTicks: 120,
      retryBackoffTicks: 10,
      thinkTicksMax: 8,
      giveUpAfterTicks,
    },
    newStateMachine: options.newStateMachine ?? (() => new KvModel()),
    newStore,
    random,
    trace: traceLines === null ? null : (line) => traceLines.push(line),
  });
  const disk = diskFaultOptions === null ? null : { options: diskFaultOptions, random: diskRandom.fork(), target: cluster };
  const faults = new FaultScheduler(faultOptions, faultRandom, cluster, cluster.network, disk);
  cluster.onLeaderElected = (id, now) => faults.leaderElected(id, now);
  cluster.onNodeFailed = (id, now) => faults.nodeFailed(id, now);

  const violations: string[] = [];
  let tick = 0;
  let recoveryTicks = 0;
  const failed = (): boolean => !cluster.safety.ok || cluster.clients.violations.length > 0 || cluster.storageViolations.length > 0;
  try {
    await cluster.start();
    for (; tick < faultTicks && !failed(); tick++) {
      await faults.step(tick);
      await cluster.step(tick, (id) => faults.ticksFor(id));
    }
    if (!failed()) {
      await faults.healAll();
      cluster.clients.stopIssuing();
      const healedAt = tick;
      let recovered = false;
      for (; tick < healedAt + livenessTicksMax && !failed(); tick++) {
        await cluster.step(tick, () => 1);
        if (cluster.clients.pendingCount() === 0 && converged(cluster)) {
          recovered = true;
          break;
        }
      }
      recoveryTicks = tick - healedAt;
      if (!recovered && !failed()) violations.push(...livenessFailure(cluster, livenessTicksMax));
    }
  } catch (error) {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    violations.push(`exception at tick ${tick}: ${text.split('\n').slice(0, 6).join('\n')}`);
  }
  violations.unshift(...cluster.safety.violations, ...cluster.clients.violations, ...cluster.storageViolations);

  let linearizabilitySteps = 0;
  let inconclusiveKeys = 0;
  let unknownWritesSeen = 0;
  const history = cluster.history.history();
  if (violations.length === 0) {
    unknownWritesSeen = countUnknownWritesSeen(cluster);
    violations.push(...finalStateViolations(cluster, appendOnlyKeys));
    const report = checkLinearizability(history, { maxStepsPerKey: options.linearizabilityMaxStepsPerKey });
    linearizabilitySteps = report.keys.reduce((sum, key) => sum + key.steps, 0);
    inconclusiveKeys = report.inconclusive.length;
    for (const violation of report.violations) violations.push(`linearizability: ${violation.detail}`);
  }

  const net = cluster.network.stats;
  const stats: SimStats = {
    ticks: tick,
    opsInvoked: cluster.clients.stats.invoked,
    opsCompleted: cluster.clients.stats.completed,
    opsUnknown: cluster.clients.stats.abandoned,
    opsChecked: history.length,
    clientRetries: cluster.clients.stats.retries,
    unknownAttempts: cluster.clients.stats.unknownAttempts,
    leaderTerms: cluster.safety.leaderTermCount(),
    committedEntries: cluster.safety.committedCount(),
    crashes: faults.stats.crashes,
    restarts: faults.stats.restarts,
    pauses: faults.stats.pauses,
    leadershipTransfers: faults.stats.transfers,
    partitionLayouts: faults.stats.layouts,
    messagesSent: net.sent,
    messagesDropped: net.dropped + net.blocked,
    messagesDuplicated: net.duplicated,
    snapshotsSent: cluster.stats.snapshotsSent,
    snapshotsDelivered: cluster.stats.snapshotsDelivered,
    linearizabilitySteps,
    inconclusiveKeys,
    unknownWritesSeen,
    recoveryTicks,
    powerLosses: cluster.stats.powerLosses,
    diskErrors: faults.stats.diskErrors,
    diskFailures: cluster.stats.diskFailures,
    bitFlips: faults.stats.bitFlips,
    corruptionsDetected: cluster.stats.corruptionsDetected,
  };
  for (const violation of violations) traceLines?.push(`VIOLATION ${violation}`);
  return {
    ok: violations.length === 0,
    seed: options.seed,
    nodes: options.nodes,
    violations,
    stats,
    ...(traceLines === null ? {} : { trace: traceLines }),
  };
}

/** Core tuning for this seed: defaults, with small flow-control windows and the optional protocol features varied. */
function chooseTuning(random: Prng, overrides: Partial<RaftTuning> | undefined): RaftTuning {
  return {
    heartbeatTicks: RAFT_DEFAULTS.heartbeatTicks,
    electionTicksMin: RAFT_DEFAULTS.electionTicksMin,
    electionTicksMax: RAFT_DEFAULTS.electionTicksMax,
    preVote: random.chance(0.75),
    checkQuorum: random.chance(0.75),
    maxEntriesPerAppend: random.pick([1, 4, 64]),
    maxInflightAppends: random.pick([1, 4, 64]),
    maxUncommittedEntries: random.pick([16, 1000]),
    ...overrides,
  };
}

/** One leader that every node follows, that has committed its own term, and every node applied all of it. */
function converged(cluster: SimCluster): boolean {
  const leaderId = cluster.leader();
  if (leaderId === null) return false;
  const leader = cluster.node(leaderId).raft?.status();
  if (leader === undefined || leader.commit !== leader.lastIndex || leader.lastTerm !== leader.term) return false;
  return cluster.serviceNodes().every((node) => {
    const status = node.raft?.status();
    return status !== undefined && !node.paused && status.term === leader.term && status.leaderId === leaderId && node.applied === leader.commit;
  });
}

function livenessFailure(cluster: SimCluster, livenessTicksMax: number): string[] {
  const nodes = cluster.serviceNodes().map((node) => {
    const s = node.raft?.status();
    return s === undefined
      ? `${node.id}: down`
      : `${node.id}: ${s.role} term ${s.term} leader ${s.leaderId ?? '-'} commit ${s.commit} applied ${node.applied} last ${s.lastIndex}@${s.lastTerm}`;
  });
  return [
    `liveness: not recovered ${livenessTicksMax} ticks after healing; ${cluster.clients.pendingCount()} client ops pending`,
    ...nodes.map((line) => `  ${line}`),
    ...cluster.clients.describePending().map((line) => `  pending ${line}`),
  ];
}

/**
 * How many abandoned writes are known to have taken effect anyway: their unique token shows up
 * in a completed op's answer or in the converged state. Shows the checkers met unknown outcomes
 * that did happen, not only ones they could simply omit.
 */
function countUnknownWritesSeen(cluster: SimCluster): number {
  const history = cluster.history.history();
  const node = cluster.serviceNodes()[0];
  const keys = new Set(history.map((op) => op.op.key));
  const observed = [...keys].map((key) => node.read(key) ?? '');
  for (const op of history) {
    const result = op.result;
    if (result !== undefined && 'value' in result && result.value !== null) observed.push(result.value);
  }
  const seen = observed.join('|');
  return history.filter((op) => op.result === undefined && 'value' in op.op && seen.includes(op.op.value)).length;
}

/** Every replica holds the same state; exactly-once over the converged values. */
function finalStateViolations(cluster: SimCluster, appendOnlyKeys: readonly string[]): string[] {
  const violations: string[] = [];
  const [first, ...rest] = cluster.serviceNodes();
  const image = Buffer.from(first.stateMachineImage()).toString('latin1');
  for (const node of rest) {
    if (Buffer.from(node.stateMachineImage()).toString('latin1') !== image) {
      violations.push(`state machine safety: ${node.id} and ${first.id} differ after converging`);
    }
  }
  const keys = new Set(cluster.history.history().map((op) => op.op.key));
  const finalValues = new Map([...keys].sort().map((key) => [key, first.read(key)] as const));
  violations.push(...checkExactlyOnce({ history: cluster.history.history(), finalValues, appendOnlyKeys }));
  return violations;
}
