/**
 * `npm run bench`: the performance benchmark (a measurement, not a test; nothing here runs in
 * `npm test`). In one run, on this machine:
 *   1. the ceilings: the raw fdatasync rate of the data disk, and a bare NestJS echo app;
 *   2. a fresh 3-node raft-kv cluster (fsync on) from dist/main.js: preload 10,000 keys, then each
 *      row of workload.ts for --seconds (default 10, --quick 2) after a warm-up;
 *   3. with --vs-etcd, a 3-member etcd on loopback under the same rows (no append: etcd has none).
 * `--scale` runs bench/scale.ts instead (1,000,000 keys: memory, snapshot pauses, restart, throughput).
 * Prints a table and writes JSON to results/bench-<time>.json (or --out). Every process and the
 * run directory (under data/) are removed at the end, also on Ctrl-C.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EtcdCluster, findEtcd } from './etcd-cluster.js';
import { measureFsyncRate, type FsyncRate } from './fsync-rate.js';
import { runLoad, type LoadResult } from './load.js';
import { measureRow, preload, type Progress, type RowResult } from './measure.js';
import { parseOptions, type BenchOptions } from './options.js';
import { BenchRun, freePorts, until } from './processes.js';
import { RaftKvCluster } from './raft-cluster.js';
import { runScale } from './scale.js';
import { printScaleReport } from './scale-report.js';
import { fmt, renderTable } from './table.js';
import { KEY_COUNT, ROWS, VALUE, keyName, randomKeys } from './workload.js';

/** build/bench/bench/run.js -> the repository root. */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const ECHO_CONNECTIONS = 64;

const progress: Progress = (line, final) => {
  if (process.stdout.isTTY) process.stdout.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
  else if (final) console.log(line);
};

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const mainJs = join(REPO_ROOT, 'dist/main.js');
  if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: run \`npm run build\` first (npm run bench does)`);
  const etcd = options.vsEtcd ? findEtcd() : null;
  if (options.vsEtcd && etcd === null) {
    throw new Error('--vs-etcd: no `etcd` on PATH. Install it (Debian/Ubuntu: `apt-get install etcd-server`) or run without --vs-etcd.');
  }
  mkdirSync(join(REPO_ROOT, 'data'), { recursive: true });
  const run = new BenchRun(mkdtempSync(join(REPO_ROOT, 'data', 'bench-')));
  console.log(`raft-kv bench: rows of ${options.rowSeconds} s after ${options.warmupSeconds} s warm-up; ${cpus().length} CPUs; data in ${run.dir}`);
  if (etcd !== null) console.log(`comparing with ${etcd.version} (${etcd.path})`);
  try {
    if (options.scale) {
      const scale = await runScale(run, mainJs, etcd?.path ?? null, options, progress);
      const verdicts = printScaleReport(scale, options.nodeOptions);
      const outFile = writeResults(options, { scale, verdicts, etcdVersion: etcd?.version ?? null }, 'bench-scale');
      console.log(`\nresults written to ${outFile}`);
      return;
    }
    const fsync = measureFsyncRate(run.dir, Math.min(options.rowSeconds, 10));
    progress(`  fdatasync: ${fsync.syncsPerSecond.toFixed(0)}/s, p50 ${fmt(fsync.latencyMs.p50)} ms, p99 ${fmt(fsync.latencyMs.p99)} ms`, true);
    const echo = await measureEcho(run, options);
    const raftRows = await measureRaftKv(run, mainJs, options);
    const etcdRows = etcd === null ? null : await measureEtcd(run, etcd.path, options);
    printReport(options, fsync, echo, raftRows, etcdRows);
    const outFile = writeResults(options, { fsync, echo, raftKv: raftRows, etcd: etcdRows, etcdVersion: etcd?.version ?? null });
    console.log(`\nresults written to ${outFile}`);
  } finally {
    await run.cleanup();
  }
}

async function measureEcho(run: BenchRun, options: BenchOptions): Promise<LoadResult> {
  const [port] = await freePorts(1);
  const echoJs = join(REPO_ROOT, 'build/bench/bench/echo-app.js');
  const app = run.start('echo-app', process.execPath, [echoJs, String(port)]);
  const url = `http://127.0.0.1:${port}`;
  const body = JSON.stringify({ value: VALUE });
  await until('the echo app to answer', 20_000, async () => {
    const r = await fetch(`${url}/kv/probe`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body });
    return r.ok ? true : undefined;
  }, () => app.logTail());
  const nextKey = randomKeys(0);
  const next = () => ({ method: 'PUT' as const, path: `/kv/${keyName(nextKey())}`, body });
  await runLoad({ url, connections: ECHO_CONNECTIONS, seconds: options.warmupSeconds, next });
  const result = await runLoad({
    url, connections: ECHO_CONNECTIONS, seconds: options.rowSeconds, next,
    onTick: (n, s) => progress(`  echo app c=${ECHO_CONNECTIONS}: ${s}/${options.rowSeconds} s, ${n} answers`, false),
  });
  progress(`  echo app c=${ECHO_CONNECTIONS}: ${result.requestsPerSecond.toFixed(0)} req/s, p50 ${result.latencyMs.p50.toFixed(2)} ms, p99 ${result.latencyMs.p99.toFixed(2)} ms`, true);
  await run.stop([app]);
  return result;
}

async function measureRaftKv(run: BenchRun, mainJs: string, options: BenchOptions): Promise<RowResult[]> {
  const cluster = await RaftKvCluster.start(run, mainJs, options.nodeOptions);
  console.log(`raft-kv: 3 nodes up (${cluster.members.map((m) => m.url).join(' ')}), leader ${(await cluster.leader()).name}`);
  await preload(cluster, progress);
  const keys = await cluster.keyCount();
  if (keys !== KEY_COUNT) throw new Error(`raft-kv holds ${keys} keys after the preload, expected ${KEY_COUNT}`);
  const rows: RowResult[] = [];
  for (const [i, row] of ROWS.entries()) {
    rows.push(await measureRow(cluster, cluster, row, i, { row: options.rowSeconds, warmup: options.warmupSeconds }, progress));
    const dead = cluster.members.filter((m) => !m.process.running);
    if (dead.length > 0) throw new Error(`raft-kv node(s) ${dead.map((m) => m.name).join(', ')} exited during ${row.name}\n${cluster.describe()}`);
  }
  await run.stop(cluster.members.map((m) => m.process));
  return rows;
}

async function measureEtcd(run: BenchRun, etcdPath: string, options: BenchOptions): Promise<RowResult[]> {
  const cluster = await EtcdCluster.start(run, etcdPath);
  console.log(`etcd: 3 members up (${cluster.members.map((m) => m.url).join(' ')}), leader ${(await cluster.leader()).name}`);
  await preload(cluster, progress);
  const rows: RowResult[] = [];
  for (const [i, row] of ROWS.entries()) {
    rows.push(await measureRow(cluster, null, row, i, { row: options.rowSeconds, warmup: options.warmupSeconds }, progress));
  }
  await run.stop(cluster.members.map((m) => m.process));
  return rows;
}

function cpuCell(r: RowResult): string {
  return r.cpu?.map((c) => `${fmt(c.percent, 0)}${c.leader ? '*' : ''}`).join('/') ?? '-';
}

/** Latency cells: to the hundredth of a millisecond below 10 ms, whole milliseconds above. */
function ms(value: number | undefined): string {
  if (value === undefined) return '-';
  return fmt(value, value < 10 ? 2 : 0);
}

function printReport(options: BenchOptions, fsync: FsyncRate, echo: LoadResult, raft: readonly RowResult[], etcd: readonly RowResult[] | null): void {
  console.log(`\nraft-kv, 3 nodes on loopback, fsync on; ${options.rowSeconds} s per row; 100-byte values over 10,000 keys; requests to the leader`);
  const headers = ['row', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'CPU % n1/n2/n3', 'ent/fsync L', 'ent/fsync F', 'ent/AE', 'posts/ent', 'gen CPU %'];
  const lines = raft.map((r) => [
    r.row + (r.leaderChanged ? ' (leader changed!)' : ''),
    fmt(r.load?.requestsPerSecond, 0), ms(r.load?.latencyMs.p50), ms(r.load?.latencyMs.p99), String(r.load?.errors ?? '-'),
    cpuCell(r), fmt(r.entriesPerFsyncLeader), fmt(r.entriesPerFsyncFollowers), fmt(r.entriesPerAppend), fmt(r.postsPerEntry), fmt(r.generatorCpuPercent, 0),
  ]);
  lines.push([`ceiling: NestJS echo PUT c=${ECHO_CONNECTIONS}`, fmt(echo.requestsPerSecond, 0), ms(echo.latencyMs.p50), ms(echo.latencyMs.p99), String(echo.errors), '-', '-', '-', '-', '-', '-']);
  lines.push([`ceiling: fdatasync ${fsync.recordBytes} B (1 writer)`, fmt(fsync.syncsPerSecond, 0), fmt(fsync.latencyMs.p50), fmt(fsync.latencyMs.p99), '0', '-', '1', '-', '-', '-', '-']);
  console.log(renderTable(headers, lines));
  console.log('CPU: percent of one core per node over the measured run (* = leader); gen = the load generator (same machine).');
  console.log('ent/fsync: Raft entries per durable WAL write (group commit, O_DSYNC), leader / followers. ent/AE: entries per AppendEntries the');
  console.log('followers received (exact, raft_append_entries_*). posts/ent: peer requests each follower received per entry (heartbeats included).');
  if (etcd === null) return;
  console.log(`\nthe same rows against etcd (3 members on loopback, gRPC gateway, requests to the leader); ratio = raft-kv req/s / etcd req/s`);
  const vsHeaders = ['row', 'raft-kv req/s', 'etcd req/s', 'ratio', 'etcd p50 ms', 'etcd p99 ms', 'etcd errors', 'etcd CPU %'];
  const vsLines = raft.map((r, i) => {
    const e = etcd[i]!;
    if (e.load === undefined) return [r.row, fmt(r.load?.requestsPerSecond, 0), '-', '-', '-', '-', '-', e.skipped ?? '-'];
    const ratio = r.load !== undefined && e.load.requestsPerSecond > 0 ? r.load.requestsPerSecond / e.load.requestsPerSecond : null;
    return [r.row, fmt(r.load?.requestsPerSecond, 0), fmt(e.load.requestsPerSecond, 0), ratio === null ? '-' : `x${fmt(ratio)}`,
      ms(e.load.latencyMs.p50), ms(e.load.latencyMs.p99), String(e.load.errors), cpuCell(e)];
  });
  console.log(renderTable(vsHeaders, vsLines));
}

function writeResults(options: BenchOptions, results: object, prefix = 'bench'): string {
  const outFile = options.outFile ?? join(REPO_ROOT, 'results', `${prefix}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(outFile), { recursive: true });
  const document = {
    startedAt: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, node: process.version },
    options,
    ...(options.scale ? {} : { rows: ROWS }),
    ...results,
  };
  writeFileSync(outFile, `${JSON.stringify(document, null, 2)}\n`);
  return outFile;
}

main().then(() => process.exit(0), (error: unknown) => {
  console.error(`\nbench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
