/**
 * The disk ceiling: how many small appends + fdatasync one writer completes per second in the
 * bench's data directory (same filesystem as the nodes' WALs). One fsync'd write at a time is
 * what a WAL without group commit could reach; raft-kv's writes/s above this figure come from
 * group commit (several entries per fsync).
 */
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** About one WAL record of a 100-byte PUT (frame header, command codec, key, value). */
const RECORD_BYTES = 160;

export interface FsyncRate {
  readonly syncsPerSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly recordBytes: number;
  readonly syncs: number;
}

export function measureFsyncRate(dir: string, seconds: number): FsyncRate {
  const file = join(dir, 'fsync-rate.bin');
  const fd = openSync(file, 'w');
  const record = Buffer.alloc(RECORD_BYTES, 0x61);
  const latenciesMs: number[] = [];
  try {
    const endNs = process.hrtime.bigint() + BigInt(seconds) * 1_000_000_000n;
    for (;;) {
      const startNs = process.hrtime.bigint();
      if (startNs >= endNs) break;
      writeSync(fd, record);
      fdatasyncSync(fd);
      latenciesMs.push(Number(process.hrtime.bigint() - startNs) / 1e6);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  latenciesMs.sort((a, b) => a - b);
  const at = (q: number) => latenciesMs[Math.min(latenciesMs.length - 1, Math.floor(q * latenciesMs.length))] ?? 0;
  const totalMs = latenciesMs.reduce((sum, ms) => sum + ms, 0);
  return {
    syncsPerSecond: latenciesMs.length / (totalMs / 1000),
    latencyMs: { p50: at(0.5), p99: at(0.99), max: latenciesMs[latenciesMs.length - 1] ?? 0 },
    recordBytes: RECORD_BYTES,
    syncs: latenciesMs.length,
  };
}

/** The file written by measureWriteBandwidth: large enough to outlast the disk's write cache. */
const BANDWIDTH_FILE_BYTES = 512 * 1024 * 1024;
const BANDWIDTH_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * The other disk ceiling: MiB/s of one large sequential write made durable (write, then
 * fdatasync), as a snapshot file is written. Snapshots of a large state are bound by it.
 */
export function measureWriteBandwidth(dir: string): number {
  const file = join(dir, 'write-bandwidth.bin');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(BANDWIDTH_CHUNK_BYTES, 0x61);
  try {
    const startNs = process.hrtime.bigint();
    for (let written = 0; written < BANDWIDTH_FILE_BYTES; written += chunk.length) writeSync(fd, chunk);
    fdatasyncSync(fd);
    const seconds = Number(process.hrtime.bigint() - startNs) / 1e9;
    return BANDWIDTH_FILE_BYTES / (1024 * 1024) / seconds;
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
}
