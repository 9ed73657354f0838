/**
 * What the scale run reads from outside the nodes: memory from /proc/<pid>/status, events from a
 * node's log file, the event-loop delay from /metrics, and /admin/status.
 */
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import type { BenchProcess } from './processes.js';
import type { Member } from './targets.js';

export interface ProcessMemory {
  /** Resident set size now (VmRSS), in bytes. */
  readonly rssBytes: number;
  /** The highest RSS of the process's life so far (VmHWM), in bytes. */
  readonly peakRssBytes: number;
}

export function processMemory(pid: number): ProcessMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (m === null) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(m[1]) * 1024;
  };
  return { rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM') };
}

/** Samples every member's VmRSS once a second and keeps each one's largest sample. */
export class RssSampler {
  private readonly maxByName = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly members: () => readonly Member[]) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), 1000);
  }

  stop(): ReadonlyMap<string, number> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.sample();
    return this.maxByName;
  }

  private sample(): void {
    for (const m of this.members()) {
      if (!m.process.running) continue;
      try {
        const { rssBytes } = processMemory(m.process.pid);
        this.maxByName.set(m.name, Math.max(this.maxByName.get(m.name) ?? 0, rssBytes));
      } catch {
        // The process exited between the check and the read.
      }
    }
  }
}

/** One `event=... key=value` log line, its fields as strings. */
export type LogEvent = Readonly<Record<string, string>>;

const FIELD = /(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g;

function parseLine(line: string): LogEvent {
  const fields: Record<string, string> = {};
  for (const m of line.matchAll(FIELD)) fields[m[1]!] = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
  return fields;
}

/** A place in a process's log file: events logged after it can be read later. */
export interface LogMark {
  readonly file: string;
  readonly offset: number;
}

export function markLog(process: BenchProcess): LogMark {
  return { file: process.logFile, offset: statSync(process.logFile).size };
}

/** The `event=<name>` lines logged since `mark`. */
export function eventsSince(mark: LogMark, name: string): LogEvent[] {
  const size = statSync(mark.file).size;
  if (size <= mark.offset) return [];
  const buf = Buffer.alloc(size - mark.offset);
  const fd = openSync(mark.file, 'r');
  try {
    readSync(fd, buf, 0, buf.length, mark.offset);
  } finally {
    closeSync(fd);
  }
  return buf
    .toString('utf8')
    .split('\n')
    .filter((line) => line.includes(`event=${name} `) || line.endsWith(`event=${name}`))
    .map(parseLine);
}

/**
 * The longest event-loop delay the node saw since the previous read, in ms: prom-client's
 * default `nodejs_eventloop_lag_max_seconds` (perf_hooks.monitorEventLoopDelay, reset by every
 * scrape), so a scrape before a window and one after it give the window's worst stall.
 */
export async function eventLoopLagMaxMs(member: Member): Promise<number> {
  const r = await fetch(`${member.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (!r.ok) throw new Error(`${member.name} /metrics answered ${r.status}`);
  const m = /^nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})?\s+(\S+)/m.exec(await r.text());
  if (m === null) throw new Error(`${member.name} /metrics has no nodejs_eventloop_lag_max_seconds`);
  return Number(m[1]) * 1000;
}

/** Where a node's memory goes, from prom-client's default metrics (process.memoryUsage / v8 heap spaces). */
export interface NodeHeap {
  readonly heapUsedBytes: number;
  readonly heapTotalBytes: number;
  /** Memory of Buffers and other objects held outside the V8 heap. */
  readonly externalBytes: number;
}

export async function nodeHeap(member: Member): Promise<NodeHeap> {
  const r = await fetch(`${member.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (!r.ok) throw new Error(`${member.name} /metrics answered ${r.status}`);
  const text = await r.text();
  const gauge = (name: string): number => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+(\\S+)`, 'm').exec(text);
    if (m === null) throw new Error(`${member.name} /metrics has no ${name}`);
    return Number(m[1]);
  };
  return {
    heapUsedBytes: gauge('nodejs_heap_size_used_bytes'),
    heapTotalBytes: gauge('nodejs_heap_size_total_bytes'),
    externalBytes: gauge('nodejs_external_memory_bytes'),
  };
}

/** The fields of GET /admin/status the scale run reads (SPEC 3). */
export interface NodeStatus {
  readonly id: string;
  readonly role: string;
  readonly leaderId: string | null;
  readonly commitIndex: number;
  readonly lastApplied: number;
  readonly keys: number;
  readonly snapshot: { readonly index: number; readonly term: number; readonly bytes: number };
}

export async function nodeStatus(member: Member): Promise<NodeStatus> {
  const r = await fetch(`${member.url}/admin/status`, { signal: AbortSignal.timeout(2000) });
  if (!r.ok) throw new Error(`${member.name} /admin/status answered ${r.status}`);
  return (await r.json()) as NodeStatus;
}

/** Bytes in a sector as /sys/dev/block/<dev>/stat counts them, whatever the device's own. */
const STAT_SECTOR_BYTES = 512;

/**
 * Bytes written so far to the block device that holds `path` (from /sys/dev/block/<major>:<minor>/stat:
 * everything the kernel sent to the disk, WAL and snapshots of every node alike); null when
 * `path` is not on a block device (tmpfs, overlay) or the kernel does not say.
 */
export function deviceBytesWritten(path: string): number | null {
  const dev = statSync(path).dev;
  // Linux's dev_t encoding (glibc's major()/minor()) for the numbers a stat gives.
  const major = (dev >>> 8) & 0xfff;
  const minor = (dev & 0xff) | ((dev >>> 12) & 0xfff00);
  try {
    const fields = readFileSync(`/sys/dev/block/${major}:${minor}/stat`, 'utf8').trim().split(/\s+/);
    // Field 7: sectors written.
    const sectors = Number(fields[6]);
    return Number.isFinite(sectors) ? sectors * STAT_SECTOR_BYTES : null;
  } catch {
    return null;
  }
}
