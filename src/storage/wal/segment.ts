import type { FileHandle, FileSystem } from '../fs/file-system.js';

const SEGMENT_NAME = /^(\d{20})\.wal$/;

/** `wal/<20-digit first index>.wal`: names sort in log order. */
export function segmentFileName(firstIndex: number): string {
  return `${String(firstIndex).padStart(20, '0')}.wal`;
}

/** The first index a segment file name carries, or null if the name is not a segment's. */
export function parseSegmentFileName(name: string): number | null {
  const match = SEGMENT_NAME.exec(name);
  if (!match) return null;
  const firstIndex = Number(match[1]);
  return Number.isSafeInteger(firstIndex) && firstIndex >= 1 ? firstIndex : null;
}

/**
 * Opens the handle that appends to a segment. With fsync on it is 'write-durable' (O_DSYNC):
 * each group commit is one write that returns durable, so no fdatasync follows it. With fsync
 * off (`--unsafe-no-fsync`) it is a plain 'write' and nothing is ever synced.
 * Truncations through it stay volatile until a datasync, as on any handle.
 */
export function openSegmentWriter(fs: FileSystem, path: string, fsync: boolean): Promise<FileHandle> {
  return fs.open(path, fsync ? 'write-durable' : 'write');
}

/**
 * One WAL segment file and the in-memory index of where its live entries sit.
 * Invariants:
 *  - entry `firstIndex + i` (i < count) is the frame at byte offset `offsets[i]`;
 *  - `bytes` is where the next frame will be written: the end of the records, which is all that
 *    counts as the segment's size (the file may run on past it in zeros, see `zeroedEnd`);
 *  - `zeroedEnd >= bytes`: the file holds only zeros in [bytes, zeroedEnd), written ahead so an
 *    append there changes no file metadata (wal-zero-fill.ts);
 *  - only the last segment of a WAL is written to, and it alone holds `writer`.
 * Payloads stay on disk: the index costs 4 bytes per entry.
 */
export class Segment {
  private offsets: Uint32Array;
  private count = 0;
  writer: FileHandle | null = null;
  zeroedEnd: number;

  constructor(
    readonly firstIndex: number,
    readonly path: string,
    public bytes: number,
  ) {
    this.offsets = new Uint32Array(1024);
    this.zeroedEnd = bytes;
  }

  /** The records now end at `end` (a write landed): the zeros it overwrote are no longer ahead. */
  recordsEndAt(end: number): void {
    this.bytes = end;
    if (this.zeroedEnd < end) this.zeroedEnd = end;
  }

  get entryCount(): number {
    return this.count;
  }

  /** firstIndex - 1 when the segment holds no entry. */
  get lastIndex(): number {
    return this.firstIndex + this.count - 1;
  }

  holds(index: number): boolean {
    return index >= this.firstIndex && index <= this.lastIndex;
  }

  offsetOf(index: number): number {
    return this.offsets[index - this.firstIndex];
  }

  /** Copies the offsets of entries [lo, hi), so a read is immune to later truncations. */
  offsetsOf(lo: number, hi: number): Uint32Array {
    return this.offsets.slice(lo - this.firstIndex, hi - this.firstIndex);
  }

  pushEntry(index: number, offset: number): void {
    if (index !== this.lastIndex + 1) throw new Error(`segment ${this.path}: entry ${index} after ${this.lastIndex}`);
    if (this.count === this.offsets.length) {
      const grown = new Uint32Array(this.offsets.length * 2);
      grown.set(this.offsets);
      this.offsets = grown;
    }
    this.offsets[this.count++] = offset;
  }

  /** Voids entries >= index (their bytes stay in the file, superseded by a truncation record). */
  truncateFrom(index: number): void {
    if (index < this.firstIndex || index > this.lastIndex + 1) {
      throw new Error(`segment ${this.path}: cannot truncate from ${index} (holds ${this.firstIndex}..${this.lastIndex})`);
    }
    this.count = index - this.firstIndex;
  }
}
