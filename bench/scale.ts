/**
 * `npm run bench -- --scale [--scale-keys N] [--vs-etcd]`: raft-kv with a large state (issue #6).
 * On one fresh 3-node cluster (fsync on, default snapshot threshold, so snapshots of the large
 * state happen on their own every 10,000 entries):
 *   1. load 10,000 keys and measure PUT c=64 over them (the 10,000-key figure);
 *   2. load up to N keys (default 1,000,000) of 100-byte values, printing keys/s;
 *   3. memory: each node's VmRSS once idle, and its largest sample through steps 4-5;
 *   4. write pauses: a steady PUT load at fixed connections for SCALE_PAUSE_SECONDS, with a snapshot
 *      asked of every node (POST /admin/snapshot) a quarter in, besides those the threshold
 *      triggers; the longest time without any write completing is compared inside and outside
 *      the nodes' snapshot intervals (from their `event=snapshot_taken` lines);
 *   5. PUT c=64 over all N keys (the N-key figure);
 *   6. restart of one follower: SIGTERM, start, until it serves with its state caught up;
 *   7. every node restarted with --snapshot-entries 100000 (etcd's default snapshot count), and
 *      step 5 again with RSS sampled: not a target, it shows what the snapshot interval costs at
 *      this size, in throughput and in memory;
 *   8. the disk's sequential write ceiling, beside the disk writes each throughput row made.
 * With --vs-etcd, a fresh 3-member etcd gets the same N keys through its gateway, for its RSS.
 */
import { EtcdCluster } from './etcd-cluster.js';
import { measureWriteBandwidth } from './fsync-rate.js';
import { runLoad, type LoadResult } from './load.js';
import type { BenchOptions } from './options.js';
import { until, type BenchRun } from './processes.js';
import { RaftKvCluster } from './raft-cluster.js';
import { bulkLoad, rawBytes, scaleKeyName, type BulkLoadResult } from './scale-load.js';
import {
  deviceBytesWritten, eventLoopLagMaxMs, eventsSince, markLog, nodeHeap, nodeStatus, processMemory, RssSampler, type LogEvent, type NodeHeap, type ProcessMemory,
} from './scale-probes.js';
import { fmt } from './table.js';
import type { Member, Target } from './targets.js';
import { KEY_COUNT, VALUE, type Row } from './workload.js';
import { Prng } from '../src/consensus/core/prng.js';
import type { Progress } from './measure.js';

/** The throughput rows: the issue's "write throughput at 64 connections". */
const THROUGHPUT_CONNECTIONS = 64;
/** The pause probe: a steady load, light enough that a stall shows as a gap, not as queueing. */
const PAUSE_CONNECTIONS = 16;
const PAUSE_SECONDS = 20;
const APPLIED_DEADLINE_MS = 120_000;
const RESTART_DEADLINE_MS = 120_000;
const MiB = 1024 * 1024;
/**
 * etcd's default --snapshot-count. SPEC's default for raft-kv is 10,000 applied entries; at 1M
 * keys each snapshot rewrites the whole state (~115 MiB per node), so the extra row shows what
 * the interval costs at scale.
 */
const ETCD_SNAPSHOT_COUNT_DEFAULT = 100_000;
/** Progress ticks are once a second. */
const LOAD_LOG_EVERY_TICKS = 15;

export const SCALE_GOALS = {
  rssPerRawBytesMax: 3,
  writePauseMsMax: 100,
  restartMsMax: 10_000,
  throughputRatioMin: 0.8,
} as const;

export interface ThroughputFigure {
  /** What the row measures, e.g. `PUT c=64 over 1000000 keys`. */
  readonly name: string;
  readonly keys: number;
  readonly load: LoadResult;
  /** Percent of one core per node over the measured run. */
  readonly cpuPercent: Readonly<Record<string, number>>;
  readonly leader: string;
  readonly snapshotsTaken: number;
  /** MiB per second written to the disk holding the data dirs over the run (all nodes); null if unknown. */
  readonly diskWriteMiBPerSecond: number | null;
}

export interface SnapshotWindow {
  readonly node: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly ms: number;
  readonly bytes: number;
  readonly keys: number;
  readonly index: number;
}

export interface PauseFigure {
  readonly connections: number;
  readonly seconds: number;
  readonly load: LoadResult;
  readonly snapshots: readonly SnapshotWindow[];
  /** The longest time without a completed write that overlaps a snapshot, and the longest that does not. */
  readonly longestGapDuringSnapshotMs: number | null;
  readonly longestGapOutsideSnapshotMs: number | null;
  /** The slowest write that overlapped a snapshot. */
  readonly maxLatencyDuringSnapshotMs: number | null;
  /** Each node's worst event-loop delay over the window (prom-client's monitorEventLoopDelay). */
  readonly eventLoopLagMaxMs: Readonly<Record<string, number>>;
  /** How long each POST /admin/snapshot took to answer. */
  readonly adminSnapshotMs: Readonly<Record<string, number>>;
}

export interface RestartFigure {
  readonly node: string;
  readonly stopMs: number;
  /** From spawn until /admin/status answers with lastApplied >= the commit index before the stop. */
  readonly readyMs: number;
  readonly commitIndexBefore: number;
  /** From the node's `event=node_started` line: snapshot restore + WAL read, and entries read. */
  readonly bootMs: number | null;
  readonly entriesLoaded: number | null;
  readonly snapshotIndex: number | null;
  readonly keys: number;
}

export interface NodeMemory extends ProcessMemory {
  readonly name: string;
  /** V8 heap and external memory once idle after the load (RSS minus heap total: code, malloc, Buffers). */
  readonly heap: NodeHeap;
  /** The largest VmRSS sampled (once a second) through the pause and throughput measurements. */
  readonly maxSampledRssBytes: number;
}

export interface ScaleResult {
  readonly keys: number;
  readonly valueBytes: number;
  readonly rawBytes: number;
  readonly loads: readonly BulkLoadResult[];
  readonly memoryIdle: readonly NodeMemory[];
  readonly pause: PauseFigure;
  readonly base: ThroughputFigure;
  readonly scaled: ThroughputFigure;
  /** The scaled row again, every node restarted to snapshot as rarely as etcd does by default (not a target). */
  readonly scaledRareSnapshots: ThroughputFigure;
  /**
   * Each node's largest RSS sample through that row: the Raft log kept in memory grows with the
   * snapshot interval (from the restart on, so a 10 s row shows only part of it).
   */
  readonly rareSnapshotsMaxRssBytes: Readonly<Record<string, number>>;
  readonly restart: RestartFigure;
  /** Sequential write made durable, MiB/s, in the bench's data directory (the snapshots' ceiling). */
  readonly diskWriteCeilingMiBPerSecond: number;
  readonly etcd: { readonly load: BulkLoadResult; readonly memory: readonly (ProcessMemory & { name: string })[] } | null;
}

export async function runScale(run: BenchRun, mainJs: string, etcdPath: string | null, options: BenchOptions, progress: Progress): Promise<ScaleResult> {
  const keys = options.scaleKeys;
  const raw = rawBytes(keys);
  console.log(`scale: ${keys} keys of ${VALUE.length}-byte values = ${fmt(raw / MiB, 1)} MiB of keys + values`);
  if (options.nodeOptions !== null) console.log(`raft-kv nodes run with NODE_OPTIONS=${JSON.stringify(options.nodeOptions)}`);
  const cluster = await RaftKvCluster.start(run, mainJs, options.nodeOptions);
  console.log(`raft-kv: 3 nodes up (${cluster.members.map((m) => m.url).join(' ')}), leader ${(await cluster.leader()).name}`);

  const loads: BulkLoadResult[] = [];
  loads.push(await loadKeys(cluster, 0, KEY_COUNT, progress));
  const base = await throughput(cluster, KEY_COUNT, options, progress);
  loads.push(await loadKeys(cluster, KEY_COUNT, keys, progress));
  await allApplied(cluster, keys);
  const memoryIdle = await Promise.all(cluster.members.map(async (m) => ({ name: m.name, ...processMemory(m.process.pid), heap: await nodeHeap(m) })));
  progress(`  idle RSS after the load: ${memoryIdle.map((m) => `${m.name} ${fmt(m.rssBytes / MiB, 0)} MiB`).join(', ')}`, true);

  const sampler = new RssSampler(() => cluster.members);
  sampler.start();
  const pause = await measurePause(cluster, keys, progress);
  const scaled = await throughput(cluster, keys, options, progress);
  const maxRss = sampler.stop();
  const restart = await measureRestart(cluster, progress);
  await cluster.restartAllWith(['--snapshot-entries', String(ETCD_SNAPSHOT_COUNT_DEFAULT)]);
  await allApplied(cluster, keys);
  const rareSampler = new RssSampler(() => cluster.members);
  rareSampler.start();
  const scaledRareSnapshots = await throughput(cluster, keys, options, progress, `, --snapshot-entries ${ETCD_SNAPSHOT_COUNT_DEFAULT}`);
  const rareSnapshotsMaxRssBytes = Object.fromEntries(rareSampler.stop());
  await run.stop(cluster.members.map((m) => m.process));
  const diskWriteCeilingMiBPerSecond = measureWriteBandwidth(run.dir);
  progress(`  disk: sequential write + fdatasync ${fmt(diskWriteCeilingMiBPerSecond, 0)} MiB/s`, true);

  const etcd = etcdPath === null ? null : await measureEtcd(run, etcdPath, keys, progress);
  return {
    keys, valueBytes: VALUE.length, rawBytes: raw, loads,
    memoryIdle: memoryIdle.map((m) => ({ ...m, maxSampledRssBytes: maxRss.get(m.name) ?? m.rssBytes })),
    pause, base, scaled, scaledRareSnapshots, rareSnapshotsMaxRssBytes, restart, diskWriteCeilingMiBPerSecond, etcd,
  };
}

async function loadKeys(target: Target, from: number, to: number, progress: Progress): Promise<BulkLoadResult> {
  const leader = await target.leader();
  let ticks = 0;
  const result = await bulkLoad(target, from, to, (p) => {
    const rss = leader.process.running ? ` leader RSS ${fmt(processMemory(leader.process.pid).rssBytes / MiB, 0)} MiB` : '';
    // A line kept every LOAD_LOG_EVERY_TICKS (so a log file shows the load rate too); the others are overwritten.
    const keep = ++ticks % LOAD_LOG_EVERY_TICKS === 0;
    progress(`  ${target.name}: loading keys ${from + p.done}/${to}, ${fmt(p.keysPerSecond, 0)} keys/s,${rss}, ${fmt(p.elapsedSeconds, 0)} s`, keep);
  });
  progress(`  ${target.name}: loaded keys [${from}, ${to}) in ${fmt(result.seconds, 1)} s, ${fmt(result.keysPerSecond, 0)} keys/s, ${result.retries} retried`, true);
  return result;
}

/** Waits until every node has applied all `keys` keys (followers trail the leader a little). */
async function allApplied(cluster: RaftKvCluster, keys: number): Promise<void> {
  await until(`all nodes holding ${keys} keys`, APPLIED_DEADLINE_MS, async () => {
    const statuses = await Promise.all(cluster.members.map(nodeStatus));
    return statuses.every((s) => s.keys === keys) ? true : undefined;
  }, () => cluster.describe());
}

/** PUTs of 100-byte values on random keys in [0, keys), no sessions. */
function putsOver(target: Target, keys: number, seed: number) {
  const random = new Prng(seed);
  return () => target.request('put', scaleKeyName(random.nextInt(0, keys)), VALUE, null)!;
}

async function throughput(cluster: RaftKvCluster, keys: number, options: BenchOptions, progress: Progress, variant = ''): Promise<ThroughputFigure> {
  const row: Row = { name: `PUT c=${THROUGHPUT_CONNECTIONS} over ${keys} keys${variant}`, op: 'put', connections: THROUGHPUT_CONNECTIONS, sessions: false };
  const leader = await cluster.leader();
  const next = putsOver(cluster, keys, keys);
  await runLoad({
    url: leader.url, connections: row.connections, seconds: options.warmupSeconds, next,
    onTick: (_, s) => progress(`  ${row.name}: warm-up ${s}/${options.warmupSeconds} s`, false),
  });
  const marks = cluster.members.map((m) => markLog(m.process));
  const cpuBefore = cluster.members.map((m) => m.process.cpuSeconds());
  const diskBefore = deviceBytesWritten(cluster.dataRoot);
  const startedMs = performance.now();
  const load = await runLoad({
    url: leader.url, connections: row.connections, seconds: options.rowSeconds, next,
    onTick: (n, s) => progress(`  ${row.name}: ${s}/${options.rowSeconds} s, ${n} answers`, false),
  });
  const elapsedSeconds = (performance.now() - startedMs) / 1000;
  const cpuPercent = Object.fromEntries(cluster.members.map((m, i) => [m.name, (100 * (m.process.cpuSeconds() - cpuBefore[i]!)) / elapsedSeconds]));
  const diskAfter = deviceBytesWritten(cluster.dataRoot);
  const diskWriteMiBPerSecond = diskBefore === null || diskAfter === null ? null : (diskAfter - diskBefore) / MiB / elapsedSeconds;
  const snapshotsTaken = marks.reduce((n, mark) => n + eventsSince(mark, 'snapshot_taken').length, 0);
  progress(`  ${row.name}: ${fmt(load.requestsPerSecond, 0)} req/s, p50 ${fmt(load.latencyMs.p50, 2)} ms, p99 ${fmt(load.latencyMs.p99, 2)} ms, ` +
    `${load.errors} errors, ${snapshotsTaken} snapshots taken (all nodes)`, true);
  return { name: row.name, keys, load, cpuPercent, leader: leader.name, snapshotsTaken, diskWriteMiBPerSecond };
}

function snapshotWindows(node: string, events: readonly LogEvent[]): SnapshotWindow[] {
  return events.map((e) => {
    const endMs = Date.parse(e['ts'] ?? '');
    const ms = Number(e['ms']);
    return { node, startMs: endMs - ms, endMs, ms, bytes: Number(e['bytes']), keys: Number(e['keys']), index: Number(e['index']) };
  });
}

async function measurePause(cluster: RaftKvCluster, keys: number, progress: Progress): Promise<PauseFigure> {
  const leader = await cluster.leader();
  const members = cluster.members;
  const marks = members.map((m) => markLog(m.process));
  await Promise.all(members.map(eventLoopLagMaxMs)); // resets each node's delay histogram
  // Wall-clock completion times (the nodes' log lines carry wall-clock times too) and latencies.
  const completedAtMs: number[] = [];
  const latenciesMs: number[] = [];
  const label = `  write pauses (PUT c=${PAUSE_CONNECTIONS}, snapshot asked of every node at ${PAUSE_SECONDS / 4} s)`;
  const adminSnapshotMs: Record<string, number> = {};
  // The trigger is a point in the measurement's timeline, not a synchronisation: the load runs on regardless.
  let adminSnapshots: Promise<unknown> = Promise.resolve();
  const trigger = setTimeout(() => {
    adminSnapshots = Promise.all(members.map(async (m) => {
      const startedMs = performance.now();
      const r = await fetch(`${m.url}/admin/snapshot`, { method: 'POST', signal: AbortSignal.timeout(PAUSE_SECONDS * 1000) });
      await r.text();
      adminSnapshotMs[m.name] = performance.now() - startedMs;
    }));
  }, (PAUSE_SECONDS * 1000) / 4);
  const load = await runLoad({
    url: leader.url, connections: PAUSE_CONNECTIONS, seconds: PAUSE_SECONDS, next: putsOver(cluster, keys, 7),
    onResponse: (_status, latencyMs) => {
      completedAtMs.push(Date.now());
      latenciesMs.push(latencyMs);
    },
    onTick: (n, s) => progress(`${label}: ${s}/${PAUSE_SECONDS} s, ${n} answers`, false),
  });
  clearTimeout(trigger);
  await adminSnapshots;
  const lags = await Promise.all(members.map(eventLoopLagMaxMs));
  const snapshots = members.flatMap((m, i) => snapshotWindows(m.name, eventsSince(marks[i]!, 'snapshot_taken')));
  const overlaps = (fromMs: number, toMs: number) => snapshots.some((s) => fromMs <= s.endMs && toMs >= s.startMs);
  let during: number | null = null;
  let outside: number | null = null;
  let maxLatency: number | null = null;
  for (let i = 1; i < completedAtMs.length; i++) {
    const gap = completedAtMs[i]! - completedAtMs[i - 1]!;
    if (overlaps(completedAtMs[i - 1]!, completedAtMs[i]!)) during = Math.max(during ?? 0, gap);
    else outside = Math.max(outside ?? 0, gap);
  }
  for (let i = 0; i < completedAtMs.length; i++) {
    if (overlaps(completedAtMs[i]! - latenciesMs[i]!, completedAtMs[i]!)) maxLatency = Math.max(maxLatency ?? 0, latenciesMs[i]!);
  }
  const figure: PauseFigure = {
    connections: PAUSE_CONNECTIONS, seconds: PAUSE_SECONDS, load, snapshots,
    longestGapDuringSnapshotMs: during, longestGapOutsideSnapshotMs: outside, maxLatencyDuringSnapshotMs: maxLatency,
    eventLoopLagMaxMs: Object.fromEntries(members.map((m, i) => [m.name, lags[i]!])),
    adminSnapshotMs,
  };
  progress(`${label}: ${fmt(load.requestsPerSecond, 0)} req/s; ${snapshots.length} snapshots (longest ${fmt(Math.max(0, ...snapshots.map((s) => s.ms)), 0)} ms); ` +
    `longest gap ${fmt(during)} ms during snapshots, ${fmt(outside)} ms outside`, true);
  return figure;
}

async function measureRestart(cluster: RaftKvCluster, progress: Progress): Promise<RestartFigure> {
  const leader = await cluster.leader();
  const follower = cluster.members.find((m) => m.name !== leader.name)!;
  const commitIndexBefore = (await nodeStatus(leader)).commitIndex;
  const stopStartedMs = performance.now();
  await cluster.stopNode(follower.name);
  const stopMs = performance.now() - stopStartedMs;
  const mark = markLog(follower.process);
  const startedMs = performance.now();
  const restarted: Member = cluster.startNode(follower.name);
  progress(`  restart ${follower.name}: stopped in ${fmt(stopMs, 0)} ms; starting`, false);
  const status = await until(`${follower.name} to serve again with lastApplied >= ${commitIndexBefore}`, RESTART_DEADLINE_MS, async () => {
    const s = await nodeStatus(restarted);
    return s.lastApplied >= commitIndexBefore && s.leaderId !== null ? s : undefined;
  }, () => restarted.process.logTail());
  const readyMs = performance.now() - startedMs;
  const started = eventsSince(mark, 'node_started')[0];
  const figure: RestartFigure = {
    node: follower.name, stopMs, readyMs, commitIndexBefore,
    bootMs: started === undefined ? null : Number(started['ms']),
    entriesLoaded: started === undefined ? null : Number(started['entries_loaded']),
    snapshotIndex: started === undefined ? null : Number(started['snapshot_index']),
    keys: status.keys,
  };
  progress(`  restart ${follower.name}: serving and caught up ${fmt(readyMs, 0)} ms after spawn ` +
    `(boot ${fmt(figure.bootMs, 0)} ms: snapshot at ${figure.snapshotIndex} + ${figure.entriesLoaded} WAL entries; ${status.keys} keys)`, true);
  return figure;
}

async function measureEtcd(run: BenchRun, etcdPath: string, keys: number, progress: Progress): Promise<NonNullable<ScaleResult['etcd']>> {
  const cluster = await EtcdCluster.start(run, etcdPath);
  console.log(`etcd: 3 members up, leader ${(await cluster.leader()).name}`);
  const load = await loadKeys(cluster, 0, keys, progress);
  const memory = cluster.members.map((m) => ({ name: m.name, ...processMemory(m.process.pid) }));
  progress(`  etcd RSS with ${keys} keys: ${memory.map((m) => `${m.name} ${fmt(m.rssBytes / MiB, 0)} MiB`).join(', ')}`, true);
  await run.stop(cluster.members.map((m) => m.process));
  return { load, memory };
}
