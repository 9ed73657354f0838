/**
 * WAL benchmark (not a test):
 *   npm run bench:wal -- [--dir D] [--seconds S] [--rounds R] [--concurrency 1,16,64,256] [--recovery-gib G]
 *
 * On one disk, in one run:
 *  1. the raw fdatasync rate of a 4 KiB append loop (the ceiling for one appender);
 *  2. WAL appends/s and p50/p99 latency with N concurrent appenders of 100-byte entries, each
 *     awaiting its append before the next (group commit is what lets N > 1 scale);
 *  3. the time to open (replay) a WAL of G GiB.
 * Phases 1 and 2 run R interleaved rounds and report medians, so a disk shared with other work
 * skews every configuration alike rather than whichever ran during a burst.
 * Figures (this machine, shared disk, p50 ms at 1/16/64/256 appenders, three alternating runs):
 * appending without zero-fill 0.14-0.17/0.17-0.22/0.24-0.28/0.35-0.40; into zeros written
 * ahead (WalOptions.zeroFillStepBytes, default) 0.12-0.13/0.13-0.14/0.17-0.18/0.28-0.39.
 * Prints a table and one JSON line. The default directory is under ./data (gitignored) when it
 * exists, so the figures are for the real disk and not a tmpfs.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Entry } from '../../consensus/core/messages.js';
import type { FileHandle, OpenMode } from '../fs/file-system.js';
import { NodeFileSystem } from '../fs/node-file-system.js';
import { Wal } from '../wal/wal.js';

interface Args {
  dir: string;
  seconds: number;
  rounds: number;
  concurrency: number[];
  recoveryGib: number;
}

function parseArgs(argv: string[]): Args {
  const value = (flag: string): string | undefined => {
    const at = argv.indexOf(flag);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const base = value('--dir') ?? (existsSync('data') ? resolve('data') : tmpdir());
  const seconds = Number(value('--seconds') ?? 2);
  const rounds = Number(value('--rounds') ?? 3);
  const concurrency = (value('--concurrency') ?? '1,16,64,256').split(',').map(Number);
  const recoveryGib = Number(value('--recovery-gib') ?? 0.25);
  const checks: [string, number][] = [['--seconds', seconds], ['--rounds', rounds], ['--recovery-gib', recoveryGib], ...concurrency.map((c): [string, number] => ['--concurrency', c])];
  for (const [name, n] of checks) {
    if (!Number.isFinite(n) || n <= 0) throw new Error(`bad ${name}: ${n}`);
  }
  return { dir: base, seconds, rounds: Math.ceil(rounds), concurrency, recoveryGib };
}

/**
 * The real disk, counting the points where data becomes durable and their time: an fdatasync, or
 * a write on a 'write-durable' (O_DSYNC) handle, which is write and sync in one. Entries per such
 * point ("fsync" in the table) is the noise-free measure of group commit.
 */
class CountingFileSystem extends NodeFileSystem {
  datasyncs = 0;
  datasyncMs = 0;

  override async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const handle = await super.open(path, mode);
    const timed = async (action: () => Promise<void>): Promise<void> => {
      const start = nowMs();
      await action();
      this.datasyncs++;
      this.datasyncMs += nowMs() - start;
    };
    const datasync = (): Promise<void> => timed(() => handle.datasync());
    const durableWrites = mode === 'write-durable';
    return {
      write: (data, position) => (durableWrites ? timed(() => handle.write(data, position)) : handle.write(data, position)),
      read: (into, position) => handle.read(into, position),
      datasync,
      sync: () => handle.sync(),
      truncate: (size) => handle.truncate(size),
      size: () => handle.size(),
      close: () => handle.close(),
    };
  }
}

const quiet = { log: () => undefined, warn: (m: string) => console.warn(m) };
const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

async function rawFdatasyncRate(dir: string, seconds: number): Promise<number> {
  const handle = await open(join(dir, 'raw.bin'), 'w');
  const block = Buffer.alloc(4096, 0x5a);
  let position = 0;
  let count = 0;
  const start = nowMs();
  const end = start + seconds * 1000;
  try {
    while (nowMs() < end) {
      await handle.write(block, 0, block.length, position);
      await handle.datasync();
      position += block.length;
      count++;
    }
  } finally {
    await handle.close();
  }
  return count / ((nowMs() - start) / 1000);
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

interface AppendResult {
  appenders: number;
  appendsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  entriesPerFsync: number;
  fsyncMeanMs: number;
}

async function walAppends(dir: string, appenders: number, seconds: number): Promise<AppendResult> {
  const fs = new CountingFileSystem();
  const wal = await Wal.open(fs, dir, { logger: quiet });
  fs.datasyncs = 0;
  fs.datasyncMs = 0;
  const data = Buffer.alloc(100, 0x61);
  let next = 1;
  const latencies: number[] = [];
  const start = nowMs();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: appenders }, async () => {
      while (nowMs() < end) {
        const entry: Entry = { index: next++, term: 1, type: 'command', data };
        const t0 = nowMs();
        await wal.append([entry]);
        latencies.push(nowMs() - t0);
      }
    }),
  );
  const elapsedSec = (nowMs() - start) / 1000;
  await wal.close();
  const sorted = Float64Array.from(latencies).sort();
  return {
    appenders,
    appendsPerSec: latencies.length / elapsedSec,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    entriesPerFsync: latencies.length / Math.max(1, fs.datasyncs),
    fsyncMeanMs: fs.datasyncMs / Math.max(1, fs.datasyncs),
  };
}

interface RecoveryResult {
  bytes: number;
  entries: number;
  segments: number;
  openMs: number;
}

async function recovery(dir: string, gib: number): Promise<RecoveryResult> {
  const targetBytes = Math.floor(gib * 1024 ** 3);
  // Filled without fsync: only the replay is being measured.
  const wal = await Wal.open(new NodeFileSystem(), dir, { logger: quiet, fsync: false });
  const data = Buffer.alloc(100, 0x62);
  const batch = 10_000;
  let index = 1;
  while (wal.stats().bytes < targetBytes) {
    const entries: Entry[] = [];
    for (let i = 0; i < batch; i++) entries.push({ index: index + i, term: 1 + Math.floor((index + i) / 1_000_000), type: 'command', data });
    await wal.append(entries);
    index += batch;
  }
  const { bytes, segments } = wal.stats();
  await wal.close();
  const start = nowMs();
  const reopened = await Wal.open(new NodeFileSystem(), dir, { logger: quiet });
  const openMs = nowMs() - start;
  const entries = reopened.lastIndex;
  if (entries !== index - 1) throw new Error(`recovered ${entries} entries, wrote ${index - 1}`);
  await reopened.close();
  return { bytes, entries, segments, openMs };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** The run with the median rate, so its latencies belong to the same run. */
function medianResult(runs: AppendResult[]): AppendResult {
  const sorted = [...runs].sort((a, b) => a.appendsPerSec - b.appendsPerSec);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  await mkdir(args.dir, { recursive: true });
  const root = await mkdtemp(join(args.dir, 'bench-wal-'));
  console.log(`WAL benchmark in ${root} (${args.rounds} rounds of ${args.seconds} s per configuration)`);
  try {
    const rawRuns: number[] = [];
    const appendRuns = new Map<number, AppendResult[]>(args.concurrency.map((c) => [c, []]));
    for (let round = 0; round < args.rounds; round++) {
      rawRuns.push(await rawFdatasyncRate(root, args.seconds));
      for (const appenders of args.concurrency) {
        const dir = join(root, `appenders-${appenders}`);
        appendRuns.get(appenders)!.push(await walAppends(dir, appenders, args.seconds));
        await rm(dir, { recursive: true, force: true });
      }
      console.log(`round ${round + 1}: raw ${rawRuns[round].toFixed(0)}/s, ` + args.concurrency.map((c) => `${c}: ${appendRuns.get(c)![round].appendsPerSec.toFixed(0)}/s`).join(', '));
    }
    const rawPerSec = median(rawRuns);
    const appends = args.concurrency.map((appenders) => medianResult(appendRuns.get(appenders)!));
    const recovered = await recovery(join(root, 'recovery'), args.recoveryGib);

    // Ratios are taken within a round (same disk conditions), then the median over rounds.
    const roundRatio = (numerator: (r: number) => number | undefined, denominator: (r: number) => number | undefined): number | null => {
      const ratios: number[] = [];
      for (let r = 0; r < args.rounds; r++) {
        const n = numerator(r);
        const d = denominator(r);
        if (n !== undefined && d !== undefined) ratios.push(n / d);
      }
      return ratios.length > 0 ? median(ratios) : null;
    };
    const rateOf = (appenders: number) => (round: number) => appendRuns.get(appenders)?.[round]?.appendsPerSec;
    const one = appends.find((a) => a.appenders === 1);
    console.log('');
    console.log(`raw 4 KiB write+fdatasync (median): ${rawPerSec.toFixed(0)}/s`);
    console.log('appenders   appends/s     p50 ms    p99 ms   entries/fsync   fsync ms   vs 1 appender (same round)');
    for (const a of appends) {
      const ratio = roundRatio(rateOf(a.appenders), rateOf(1));
      console.log(
        `${String(a.appenders).padStart(9)} ${a.appendsPerSec.toFixed(0).padStart(11)} ${a.p50Ms.toFixed(3).padStart(10)} ` +
          `${a.p99Ms.toFixed(3).padStart(9)} ${a.entriesPerFsync.toFixed(1).padStart(15)} ${a.fsyncMeanMs.toFixed(3).padStart(10)} ` +
          `${(ratio === null ? '-' : ratio.toFixed(1) + 'x').padStart(15)}`,
      );
    }
    console.log(
      `recovery: ${(recovered.bytes / 1024 ** 3).toFixed(2)} GiB, ${recovered.entries} entries, ${recovered.segments} segments, ` +
        `opened in ${(recovered.openMs / 1000).toFixed(2)} s (page cache warm)`,
    );
    const targets = {
      oneAppenderVsRaw: one ? roundRatio(rateOf(1), (r) => rawRuns[r]) : null,
      sixtyFourVsOne: roundRatio(rateOf(64), rateOf(1)),
      recoverySecondsPerGib: recovered.openMs / 1000 / (recovered.bytes / 1024 ** 3),
    };
    console.log(
      JSON.stringify({ dir: root, rounds: args.rounds, rawFdatasyncPerSec: rawPerSec, rawRuns, appends, recovery: recovered, targets }),
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
