/** The scale run's table: each of the issue's targets with its measured figure and PASS/FAIL. */
import { SCALE_GOALS, type ScaleResult, type ThroughputFigure } from './scale.js';
import { fmt, renderTable } from './table.js';

const MiB = 1024 * 1024;

export interface ScaleVerdict {
  readonly target: string;
  readonly goal: string;
  readonly measured: string;
  /** null: not measurable in this run (the reason is in `measured`). */
  readonly pass: boolean | null;
}

const mib = (bytes: number) => `${fmt(bytes / MiB, 0)} MiB`;

export function scaleVerdicts(r: ScaleResult): ScaleVerdict[] {
  const rssLimit = SCALE_GOALS.rssPerRawBytesMax * r.rawBytes;
  const worstRss = Math.max(...r.memoryIdle.map((m) => m.maxSampledRssBytes));
  const pause = r.pause.longestGapDuringSnapshotMs;
  const largeSnapshots = r.pause.snapshots.filter((s) => s.keys >= r.keys);
  const ratio = r.base.load.requestsPerSecond > 0 ? r.scaled.load.requestsPerSecond / r.base.load.requestsPerSecond : 0;
  return [
    {
      target: 'RSS per node',
      goal: `<= ${SCALE_GOALS.rssPerRawBytesMax}x raw (${mib(rssLimit)})`,
      measured: `max ${mib(worstRss)} (x${fmt(worstRss / r.rawBytes)}); idle ${r.memoryIdle.map((m) => `${m.name} ${mib(m.rssBytes)}`).join(', ')}`,
      pass: worstRss <= rssLimit,
    },
    {
      target: 'write pause during a snapshot',
      goal: `<= ${SCALE_GOALS.writePauseMsMax} ms`,
      measured: largeSnapshots.length === 0
        ? 'no snapshot of the whole state was taken in the window'
        : `${fmt(pause, 0)} ms longest gap (outside snapshots ${fmt(r.pause.longestGapOutsideSnapshotMs, 0)} ms); ` +
          `${r.pause.snapshots.length} snapshots of up to ${mib(Math.max(...r.pause.snapshots.map((s) => s.bytes)))} took up to ${fmt(Math.max(...r.pause.snapshots.map((s) => s.ms)), 0)} ms`,
      pass: largeSnapshots.length === 0 || pause === null ? null : pause <= SCALE_GOALS.writePauseMsMax,
    },
    {
      target: 'restart (snapshot load + WAL replay)',
      goal: `< ${SCALE_GOALS.restartMsMax / 1000} s`,
      measured: `${fmt(r.restart.readyMs / 1000)} s to serve caught up (boot ${fmt(r.restart.bootMs, 0)} ms, ${r.restart.entriesLoaded ?? '?'} WAL entries)`,
      pass: r.restart.readyMs < SCALE_GOALS.restartMsMax,
    },
    {
      target: `PUT c=64 at ${r.keys} keys vs ${r.base.keys} keys`,
      goal: `>= x${SCALE_GOALS.throughputRatioMin}`,
      measured: `${fmt(r.scaled.load.requestsPerSecond, 0)} vs ${fmt(r.base.load.requestsPerSecond, 0)} req/s (x${fmt(ratio)}); ` +
        `disk writes ${diskRate(r.scaled)} MiB/s, ceiling ${fmt(r.diskWriteCeilingMiBPerSecond, 0)}`,
      pass: ratio >= SCALE_GOALS.throughputRatioMin,
    },
  ];
}

export function printScaleReport(r: ScaleResult, nodeOptions: string | null): ScaleVerdict[] {
  const verdicts = scaleVerdicts(r);
  console.log(`\nraft-kv --scale: 3 nodes on loopback, fsync on, ${r.keys} keys of ${r.valueBytes}-byte values (raw ${mib(r.rawBytes)})` +
    (nodeOptions === null ? '' : `; nodes with NODE_OPTIONS=${JSON.stringify(nodeOptions)}`));
  console.log(renderTable(['target', 'goal', 'measured', 'result'],
    verdicts.map((v) => [v.target, v.goal, v.measured, v.pass === null ? 'N/A' : v.pass ? 'PASS' : 'FAIL'])));

  console.log('\nmemory per node (VmRSS idle after the load; largest 1 s sample through the pause and throughput runs; VmHWM; ' +
    'V8 heap used / total and external memory when idle)');
  const memoryRows = r.memoryIdle.map((m) => [
    'raft-kv ' + m.name, mib(m.rssBytes), mib(m.maxSampledRssBytes), mib(m.peakRssBytes), `x${fmt(m.maxSampledRssBytes / r.rawBytes)}`,
    `${mib(m.heap.heapUsedBytes)} / ${mib(m.heap.heapTotalBytes)}`, mib(m.heap.externalBytes),
  ]);
  for (const m of r.etcd?.memory ?? []) memoryRows.push([m.name, mib(m.rssBytes), '-', mib(m.peakRssBytes), `x${fmt(m.rssBytes / r.rawBytes)}`, '-', '-']);
  console.log(renderTable(['process', 'RSS idle', 'RSS max sampled', 'VmHWM', 'max / raw', 'heap used / total', 'external'], memoryRows));

  console.log('\nthroughput rows (CPU: percent of one core per node, * = leader; disk: MiB/s written to the disk holding the nodes\' data, ' +
    `WAL and snapshots; the disk's sequential write + fdatasync ceiling is ${fmt(r.diskWriteCeilingMiBPerSecond, 0)} MiB/s)`);
  console.log(renderTable(['row', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'errors', 'CPU %', 'disk MiB/s', 'snapshots'], [r.base, r.scaled, r.scaledRareSnapshots].map((t) => [
    t.name, fmt(t.load.requestsPerSecond, 0), fmt(t.load.latencyMs.p50, 2), fmt(t.load.latencyMs.p99, 1), fmt(t.load.latencyMs.max, 0),
    String(t.load.errors), Object.entries(t.cpuPercent).map(([n, p]) => `${fmt(p, 0)}${n === t.leader ? '*' : ''}`).join('/'), diskRate(t), String(t.snapshotsTaken),
  ])));

  console.log(`RSS max through the --snapshot-entries row: ${Object.entries(r.rareSnapshotsMaxRssBytes).map(([n, b]) => `${n} ${mib(b)} (x${fmt(b / r.rawBytes)})`).join(', ')}`);

  const p = r.pause;
  console.log(`\nwrite pauses: PUT c=${p.connections} for ${p.seconds} s, ${fmt(p.load.requestsPerSecond, 0)} req/s, p99 ${fmt(p.load.latencyMs.p99, 1)} ms, ` +
    `max ${p.load.latencyMs.max} ms; slowest write overlapping a snapshot ${fmt(p.maxLatencyDuringSnapshotMs, 0)} ms; ` +
    `event-loop delay max ${Object.entries(p.eventLoopLagMaxMs).map(([n, ms]) => `${n} ${fmt(ms, 0)} ms`).join(', ')}`);
  console.log(renderTable(['node', 'index', 'keys', 'bytes', 'ms'], p.snapshots.map((s) => [s.node, String(s.index), String(s.keys), mib(s.bytes), fmt(s.ms, 0)])));
  console.log('\nloads: ' + r.loads.map((l) => `${l.keys} keys at ${fmt(l.keysPerSecond, 0)} keys/s`).join('; ') +
    (r.etcd === null ? '' : `; etcd ${r.etcd.load.keys} keys at ${fmt(r.etcd.load.keysPerSecond, 0)} keys/s`));
  return verdicts;
}

function diskRate(t: ThroughputFigure): string {
  return t.diskWriteMiBPerSecond === null ? 'n/a' : fmt(t.diskWriteMiBPerSecond, 0);
}
