import { join } from 'node:path';
import type { Entry } from '../../consensus/core/messages.js';
import type { FileHandle, FileSystem } from '../fs/file-system.js';
import { describeError, StorageFailedError } from '../storage-errors.js';
import { consoleStorageLogger, type StorageLogger } from '../storage-logger.js';
import { SCAN_CONTINUE, SCAN_STOP, scanFrames } from './frame-scanner.js';
import {
  decodeEntry,
  ENTRY_DATA_BYTES_MAX,
  entryFrameBytes,
  entryIndexOf,
  RecordType,
  recordTypeOf,
  TRUNCATE_FRAME_BYTES,
  writeEntryFrame,
  writeTruncateFrame,
} from './record-codec.js';
import { openSegmentWriter, Segment, segmentFileName } from './segment.js';
import { TermRuns } from './term-runs.js';
import { recoverWal } from './wal-recovery.js';
import { SegmentZeroFiller } from './wal-zero-fill.js';

export interface WalOptions {
  /** A new segment starts once the current one has passed this size. Default 64 MiB (SPEC 1). */
  readonly segmentBytesMax?: number;
  /** false only for `--unsafe-no-fsync`: nothing is synced, a crash may lose acknowledged appends. */
  readonly fsync?: boolean;
  /** Most bytes one group commit writes; a single larger append is written on its own. Default 4 MiB. */
  readonly batchBytesMax?: number;
  readonly logger?: StorageLogger;
  /** Index of the first entry of a directory that holds no segment yet. Default 1. */
  readonly emptyFirstIndex?: number;
  /**
   * Defers the writer's next step by one turn, so appenders whose promises the previous sync
   * resolved, and appends arriving together, share the next sync. Default setImmediate (which
   * runs after every pending promise callback). A deterministic simulator passes its own.
   */
  readonly schedule?: (run: () => void) => void;
  /** Read size when replaying and reading back. Default 8 MiB. */
  readonly readChunkBytes?: number;
  /**
   * Zeros written ahead of the append position per step (capped at segmentBytesMax); a step
   * starts when the records come within half a step of the zeroed end. 0 turns it off.
   * Default 1 MiB: each step holds the disk a few milliseconds, which the commits queued behind
   * it feel. See wal-zero-fill.ts.
   */
  readonly zeroFillStepBytes?: number;
}

/** Bytes one append() call may carry: keeps any single write, and segment offsets, bounded. */
export const APPEND_BYTES_MAX = 64 * 1024 * 1024;
const SEGMENT_BYTES_MAX_LIMIT = 1024 * 1024 * 1024;
const ZERO_FILL_STEP_BYTES_DEFAULT = 1024 * 1024;

export interface WalStats {
  readonly segments: number;
  /** Bytes of records in the segments (not the file sizes, which include the zeros written ahead). */
  readonly bytes: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
}

interface Pending {
  resolve(): void;
  reject(error: unknown): void;
}

type WalOp =
  | { readonly kind: 'append'; readonly entries: readonly Entry[]; readonly bytes: number; readonly done: Pending }
  | { readonly kind: 'reset'; readonly nextIndex: number; readonly done: Pending }
  | { readonly kind: 'install'; readonly index: number; readonly term: number; readonly done: Pending }
  | { readonly kind: 'compact'; readonly index: number; readonly done: Pending }
  | { readonly kind: 'close'; readonly done: Pending };
type AppendOp = Extract<WalOp, { kind: 'append' }>;

/** What the writer does next: write a group of appends, or first change the set of segments. */
type Step =
  | { readonly kind: 'write'; readonly ops: AppendOp[]; readonly truncateFrom: number | null; readonly bytes: number }
  | { readonly kind: 'roll' }
  | { readonly kind: 'cut'; readonly fromIndex: number };

/**
 * The write-ahead log: append-only segment files of framed, checksummed records.
 *
 * One writer drains a queue of operations in call order. Consecutive appends coalesce into one
 * durable write (group commit): the segment writer is opened 'write-durable' (O_DSYNC), so the
 * write itself returns once its bytes are on stable storage, with no separate fdatasync; each
 * append's promise resolves only after the write that covers its bytes. A failed write or sync
 * fails that batch and every later operation: the caller must treat it as fatal and recover from
 * disk, never retry.
 *
 * Appending entries whose first index is at or below lastIndex replaces the suffix from there:
 * a truncation record is written before them (or, when the suffix starts in an earlier segment,
 * the later segments are deleted first). Replay applies records in order, so either way the
 * recovered log is the old log cut at that index followed by whatever of the new entries was synced.
 *
 * Ahead of the append position the last segment's file is kept zero-filled in the background
 * (wal-zero-fill.ts), so a durable write lands inside the file and commits no new size; every
 * size the WAL reports or acts on (stats, segment roll, compaction) is the records' bytes.
 *
 * Invariants: segments are contiguous (each starts one past the previous one's last entry); every
 * segment but the last holds at least one entry; the in-memory index reflects synced records only.
 */
export class Wal {
  private readonly segmentBytesMax: number;
  private readonly batchBytesMax: number;
  private readonly fsync: boolean;
  private readonly schedule: (run: () => void) => void;
  private readonly readChunkBytes: number;
  private readonly queue: WalOp[] = [];
  private running = false;
  private scheduled = false;
  private failure: StorageFailedError | null = null;
  private closed = false;
  private appendsResolvedLastStep = 0;
  private readonly zeroFiller: SegmentZeroFiller;

  private constructor(
    private readonly fs: FileSystem,
    readonly dir: string,
    private readonly segments: Segment[],
    private readonly terms: TermRuns,
    options: WalOptions,
  ) {
    this.segmentBytesMax = options.segmentBytesMax ?? 64 * 1024 * 1024;
    this.batchBytesMax = options.batchBytesMax ?? 4 * 1024 * 1024;
    this.fsync = options.fsync ?? true;
    this.schedule = options.schedule ?? ((run) => setImmediate(run));
    this.readChunkBytes = options.readChunkBytes ?? 8 * 1024 * 1024;
    const zeroFillStepBytes = Math.min(options.zeroFillStepBytes ?? ZERO_FILL_STEP_BYTES_DEFAULT, this.segmentBytesMax);
    this.zeroFiller = new SegmentZeroFiller(
      {
        stepBytes: zeroFillStepBytes,
        lowWaterBytes: Math.floor(zeroFillStepBytes / 2),
        // Past the size limit only the last batch before a roll can land.
        limitBytes: this.segmentBytesMax + Math.min(zeroFillStepBytes, this.batchBytesMax),
      },
      (error) => this.fail('zero-fill', [], error),
    );
  }

  static async open(fs: FileSystem, dir: string, options: WalOptions = {}): Promise<Wal> {
    const segmentBytesMax = options.segmentBytesMax ?? 64 * 1024 * 1024;
    if (!Number.isSafeInteger(segmentBytesMax) || segmentBytesMax < 1 || segmentBytesMax > SEGMENT_BYTES_MAX_LIMIT) {
      throw new RangeError(`segmentBytesMax must be 1..${SEGMENT_BYTES_MAX_LIMIT} bytes, got ${segmentBytesMax}`);
    }
    const emptyFirstIndex = options.emptyFirstIndex ?? 1;
    if (!Number.isSafeInteger(emptyFirstIndex) || emptyFirstIndex < 1) throw new RangeError(`bad emptyFirstIndex ${emptyFirstIndex}`);
    const zeroFillStepBytes = options.zeroFillStepBytes ?? ZERO_FILL_STEP_BYTES_DEFAULT;
    if (!Number.isSafeInteger(zeroFillStepBytes) || zeroFillStepBytes < 0) throw new RangeError(`bad zeroFillStepBytes ${zeroFillStepBytes}`);
    const recovered = await recoverWal(fs, dir, {
      logger: options.logger ?? consoleStorageLogger,
      fsync: options.fsync ?? true,
      chunkBytes: options.readChunkBytes ?? 8 * 1024 * 1024,
      emptyFirstIndex,
    });
    const wal = new Wal(fs, dir, recovered.segments, recovered.terms, options);
    wal.zeroFiller.maybeStart(wal.lastSegment);
    return wal;
  }

  /** The lowest index still in the log (compaction moves it up a whole segment at a time). */
  get firstIndex(): number {
    return this.segments[0].firstIndex;
  }

  /** The highest synced index; firstIndex - 1 when the log is empty. */
  get lastIndex(): number {
    return this.lastSegment.lastIndex;
  }

  /** Term of a synced entry in [firstIndex, lastIndex]; undefined outside. */
  term(index: number): number | undefined {
    if (index < this.firstIndex || index > this.lastIndex) return undefined;
    return this.terms.termAt(index);
  }

  stats(): WalStats {
    let bytes = 0;
    for (const segment of this.segments) bytes += segment.bytes;
    return { segments: this.segments.length, bytes, firstIndex: this.firstIndex, lastIndex: this.lastIndex };
  }

  /**
   * Makes `entries` durable. entries[0].index must be in [firstIndex, lastIndex + 1] once every
   * earlier operation has applied; at or below lastIndex, the suffix from there is replaced.
   * An empty array resolves once every earlier operation is durable.
   */
  append(entries: readonly Entry[]): Promise<void> {
    let bytes = 0;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      if (i > 0 && entry.index !== entries[0].index + i) {
        return Promise.reject(new RangeError(`append: entry ${entry.index} at position ${i} is not contiguous`));
      }
      if (entry.data.length > ENTRY_DATA_BYTES_MAX) {
        return Promise.reject(new RangeError(`append: entry ${entry.index} carries ${entry.data.length} bytes, over ${ENTRY_DATA_BYTES_MAX}`));
      }
      bytes += entryFrameBytes(entry);
    }
    if (bytes > APPEND_BYTES_MAX) return Promise.reject(new RangeError(`append: ${bytes} bytes in one call, over ${APPEND_BYTES_MAX}`));
    return this.enqueue((done) => ({ kind: 'append', entries, bytes, done }));
  }

  /** Discards the whole log; the next entry appended must be `nextIndex` (after a snapshot install). */
  reset(nextIndex: number): Promise<void> {
    if (!Number.isSafeInteger(nextIndex) || nextIndex < 1) return Promise.reject(new RangeError(`reset: bad index ${nextIndex}`));
    return this.enqueue((done) => ({ kind: 'reset', nextIndex, done }));
  }

  /**
   * A snapshot ending at (index, term) was installed (Raft fig. 13): if the log, once every
   * earlier operation has applied, holds that entry, the entries after it stay (and the segments
   * the snapshot covers go); otherwise the whole log is discarded and restarts at index + 1.
   */
  installSnapshot(index: number, term: number): Promise<void> {
    if (!Number.isSafeInteger(index) || index < 0) return Promise.reject(new RangeError(`installSnapshot: bad index ${index}`));
    return this.enqueue((done) => ({ kind: 'install', index, term, done }));
  }

  /** Deletes the segments whose entries are all at or below `index`; never the last segment. */
  compact(index: number): Promise<void> {
    if (!Number.isSafeInteger(index) || index < 0) return Promise.reject(new RangeError(`compact: bad index ${index}`));
    return this.enqueue((done) => ({ kind: 'compact', index, done }));
  }

  /** Waits for every earlier operation, then closes the files. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.failure) {
      this.closed = true;
      return this.closeWriter();
    }
    return this.enqueue((done) => ({ kind: 'close', done }));
  }

  /**
   * Entries [lo, hi) read back from the segment files, stopping early (after at least one
   * entry) once `bytesMax` of entry data is gathered. Sees appends that have resolved.
   */
  async read(lo: number, hi: number, bytesMax = Number.POSITIVE_INFINITY): Promise<Entry[]> {
    if (lo < this.firstIndex || hi > this.lastIndex + 1 || lo > hi) {
      throw new RangeError(`read [${lo}, ${hi}) outside the log [${this.firstIndex}, ${this.lastIndex + 1})`);
    }
    // Capture where everything is now: later truncations and compactions must not move it.
    const plans: { path: string; lo: number; offsets: Uint32Array; end: number }[] = [];
    for (const segment of this.segments) {
      const from = Math.max(lo, segment.firstIndex);
      const to = Math.min(hi, segment.lastIndex + 1);
      if (from >= to) continue;
      const end = to <= segment.lastIndex ? segment.offsetOf(to) : segment.bytes;
      plans.push({ path: segment.path, lo: from, offsets: segment.offsetsOf(from, to), end });
    }
    const entries: Entry[] = [];
    let dataBytes = 0;
    for (const plan of plans) {
      const full = await this.readFromSegment(plan.path, plan.lo, plan.offsets, plan.end, entries, bytesMax - dataBytes);
      if (!full) break;
      dataBytes = entries.reduce((sum, entry) => sum + entry.data.length, 0);
    }
    return entries;
  }

  /** Reads entries [lo, lo + offsets.length) of one segment; false if it stopped at bytesMax. */
  private async readFromSegment(
    path: string,
    lo: number,
    offsets: Uint32Array,
    end: number,
    into: Entry[],
    bytesMax: number,
  ): Promise<boolean> {
    const handle = await this.fs.open(path, 'read');
    const hi = lo + offsets.length;
    let next = lo;
    let dataBytes = 0;
    let stoppedEarly = false;
    try {
      const start = offsets[0];
      const scan = await scanFrames(handle, start, end, Math.min(this.readChunkBytes, end - start), (source, payloadStart, payloadEnd, frameOffset) => {
        if (recordTypeOf(source, payloadStart) !== RecordType.Entry) return SCAN_CONTINUE;
        const index = entryIndexOf(source, payloadStart);
        // Skip entries a later truncation record voided: the live one sits at the indexed offset.
        if (index !== next || frameOffset !== offsets[index - lo]) return SCAN_CONTINUE;
        const entry = decodeEntry(source, payloadStart, payloadEnd);
        into.push(entry);
        dataBytes += entry.data.length;
        next++;
        if (next === hi) return SCAN_STOP;
        if (into.length > 0 && dataBytes >= bytesMax) {
          stoppedEarly = true;
          return SCAN_STOP;
        }
        return SCAN_CONTINUE;
      });
      if (next < hi && !stoppedEarly) {
        const where = scan.problem ? `${scan.problem.reason} at byte offset ${scan.problem.offset}` : `end of data at ${scan.end}`;
        throw new StorageFailedError(`WAL read of ${path}: entry ${next} not found (${where})`);
      }
    } finally {
      await handle.close();
    }
    return !stoppedEarly;
  }

  private get lastSegment(): Segment {
    return this.segments[this.segments.length - 1];
  }

  private enqueue(build: (done: Pending) => WalOp): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new StorageFailedError(`WAL ${this.dir} is closed`));
    return new Promise<void>((resolve, reject) => {
      const op = build({ resolve, reject });
      if (op.kind === 'close') this.closed = true;
      this.queue.push(op);
      this.kick();
    });
  }

  private kick(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      void this.runStep();
    });
  }

  /**
   * One step at a time. If every appender the last step resolved has already queued its next
   * append, the next step starts at once; otherwise it waits one scheduler turn, so the
   * stragglers (callers a few promise hops away) share the next sync instead of missing it.
   */
  private async runStep(): Promise<void> {
    if (this.running || this.failure || this.queue.length === 0) return;
    this.running = true;
    try {
      await this.step();
    } finally {
      this.running = false;
    }
    if (this.queue.length === 0 || this.failure) return;
    if (this.queue.length >= this.appendsResolvedLastStep && !this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        void this.runStep();
      });
    } else {
      this.kick();
    }
  }

  private async step(): Promise<void> {
    const op = this.queue[0];
    this.appendsResolvedLastStep = 0;
    const step = op.kind === 'append' ? this.planStep() : null;
    if (step?.kind !== 'write') {
      // Anything but a write may close, truncate or delete the last segment: no zero-fill under it.
      await this.zeroFiller.settle();
      if (this.failure) return; // the queue, this operation included, was failed
    }
    if (step !== null) {
      if (step.kind === 'write') this.appendsResolvedLastStep = step.ops.length;
      if (step.kind === 'write') await this.guard('append', step.ops, () => this.writeBatch(step));
      else if (step.kind === 'roll') await this.guard('segment roll', [], () => this.rollSegment());
      else await this.guard('truncation', [], () => this.cutSegmentsAfter(step.fromIndex));
      return;
    }
    this.queue.shift();
    if (op.kind === 'reset') await this.guard('reset', [op], () => this.applyReset(op.nextIndex));
    else if (op.kind === 'install') {
      const keepsLog = this.term(op.index) === op.term;
      await this.guard('snapshot install', [op], () => (keepsLog ? this.applyCompact(op.index) : this.applyReset(op.index + 1)));
    }
    else if (op.kind === 'compact') await this.guard('compaction', [op], () => this.applyCompact(op.index));
    else await this.guard('close', [op], () => this.closeWriter());
  }

  /** Runs one durability-path action; on failure, fails `ops`, everything queued, and all that follows. */
  private async guard(what: string, ops: readonly WalOp[], action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (error) {
      this.fail(what, ops, error);
      return;
    }
    for (const op of ops) op.done.resolve();
  }

  /** Fails `ops`, everything queued, and all that follows (the first failure is the one reported). */
  private fail(what: string, ops: readonly WalOp[], error: unknown): void {
    this.failure ??= new StorageFailedError(`WAL ${what} in ${this.dir} failed: ${describeError(error)}`, { cause: error });
    for (const op of ops) op.done.reject(this.failure);
    for (const op of this.queue.splice(0)) op.done.reject(this.failure);
  }

  /**
   * Takes from the queue the appends one write can carry. A truncating append starts a batch of
   * its own (its record must land in the segment that holds the index before it); a full segment
   * ends the batch so the next one can start in a fresh segment.
   */
  private planStep(): Step {
    const segment = this.lastSegment;
    let last = this.lastIndex;
    let bytes = 0;
    let truncateFrom: number | null = null;
    const ops: AppendOp[] = [];
    while (this.queue.length > 0) {
      const op = this.queue[0];
      if (op.kind !== 'append') break;
      if (op.entries.length === 0) {
        ops.push(op);
        this.queue.shift();
        continue;
      }
      const first = op.entries[0].index;
      if (first > last + 1 || first < this.firstIndex) {
        this.queue.shift();
        op.done.reject(new RangeError(`append at ${first}: the log holds [${this.firstIndex}, ${last}], so it would leave a gap`));
        continue;
      }
      const truncates = first <= last;
      if (truncates) {
        if (ops.length > 0) break;
        if (first < segment.firstIndex) return { kind: 'cut', fromIndex: first };
        truncateFrom = first;
        bytes += TRUNCATE_FRAME_BYTES;
      } else if (segment.bytes + bytes >= this.segmentBytesMax && segment.entryCount > 0) {
        if (ops.length > 0) break;
        return { kind: 'roll' };
      } else if (ops.length > 0 && bytes + op.bytes > this.batchBytesMax) {
        break;
      }
      bytes += op.bytes;
      last = first + op.entries.length - 1;
      ops.push(op);
      this.queue.shift();
    }
    return { kind: 'write', ops, truncateFrom, bytes };
  }

  private async writeBatch(step: Extract<Step, { kind: 'write' }>): Promise<void> {
    if (step.bytes === 0) return;
    const segment = this.lastSegment;
    const writer = this.writerOf(segment);
    const buffer = Buffer.allocUnsafe(step.bytes);
    const base = segment.bytes;
    let at = 0;
    if (step.truncateFrom !== null) at = writeTruncateFrame(buffer, at, step.truncateFrom);
    const offsets: number[] = [];
    for (const op of step.ops) {
      for (const entry of op.entries) {
        offsets.push(base + at);
        at = writeEntryFrame(buffer, at, entry);
      }
    }
    // Never write where a zero-fill step is writing.
    const zeroing = this.zeroFiller.overlapping(base + buffer.length);
    if (zeroing !== null) {
      await zeroing;
      if (this.failure) throw this.failure;
    }
    // With fsync on, the writer is 'write-durable': when this resolves the batch is durable.
    await writer.write(buffer, base);
    segment.recordsEndAt(base + buffer.length);
    this.zeroFiller.maybeStart(segment);

    // Durable: now the index may point at these records.
    if (step.truncateFrom !== null) {
      segment.truncateFrom(step.truncateFrom);
      this.terms.truncateFrom(step.truncateFrom);
    }
    let k = 0;
    for (const op of step.ops) {
      for (const entry of op.entries) {
        segment.pushEntry(entry.index, offsets[k++]);
        this.terms.append(entry.index, entry.term);
      }
    }
  }

  /** Starts the next segment. Its directory entry is synced before anything in it is acknowledged. */
  private async rollSegment(): Promise<void> {
    const previous = this.lastSegment;
    const firstIndex = previous.lastIndex + 1;
    const segment = new Segment(firstIndex, join(this.dir, segmentFileName(firstIndex)), 0);
    segment.writer = await this.startEmptySegment(segment.path);
    this.segments.push(segment);
    const writer = previous.writer;
    previous.writer = null;
    await writer?.close();
    this.zeroFiller.maybeStart(segment);
  }

  /**
   * Before a suffix starting in an earlier segment is replaced, the segments after it are
   * deleted, newest first, each unlink synced: a crash in between leaves a prefix of the old log,
   * whose lost entries were past the truncation point and so never committed.
   */
  private async cutSegmentsAfter(fromIndex: number): Promise<void> {
    while (this.lastSegment.firstIndex > fromIndex) await this.deleteLastSegment();
    const kept = this.lastSegment;
    this.terms.truncateFrom(kept.lastIndex + 1);
    kept.writer = await openSegmentWriter(this.fs, kept.path, this.fsync);
    this.zeroFiller.maybeStart(kept);
  }

  private async deleteLastSegment(): Promise<void> {
    const segment = this.segments[this.segments.length - 1];
    await this.fs.unlink(segment.path);
    if (this.fsync) await this.fs.syncDir(this.dir);
    this.segments.pop();
    const writer = segment.writer;
    segment.writer = null;
    await writer?.close();
  }

  private async applyReset(nextIndex: number): Promise<void> {
    // Newest first, as in a cut: a crash part-way leaves a prefix of the old log, which the owner
    // (RaftStorage) discards again at recovery because its snapshot covers or contradicts it.
    while (this.segments.length > 0) await this.deleteLastSegment();
    this.terms.clear();
    const segment = new Segment(nextIndex, join(this.dir, segmentFileName(nextIndex)), 0);
    segment.writer = await this.startEmptySegment(segment.path);
    this.segments.push(segment);
    this.zeroFiller.maybeStart(segment);
  }

  /**
   * Creates (or empties a leftover) segment file and syncs its directory entry. A durable write
   * promises only its own bytes and the size, so emptying a leftover is synced on its own: its
   * old bytes must never reappear after the records written next.
   */
  private async startEmptySegment(path: string): Promise<FileHandle> {
    const writer = await openSegmentWriter(this.fs, path, this.fsync);
    if ((await writer.size()) !== 0) {
      await writer.truncate(0);
      if (this.fsync) await writer.datasync();
    }
    if (this.fsync) await this.fs.syncDir(this.dir);
    return writer;
  }

  /** Oldest first, each unlink synced: a crash part-way leaves a contiguous suffix. */
  private async applyCompact(index: number): Promise<void> {
    while (this.segments.length > 1 && this.segments[1].firstIndex <= index + 1) {
      await this.fs.unlink(this.segments[0].path);
      if (this.fsync) await this.fs.syncDir(this.dir);
      this.segments.shift();
    }
    this.terms.dropBefore(this.firstIndex);
  }

  private async closeWriter(): Promise<void> {
    await this.zeroFiller.settle();
    const segment = this.segments[this.segments.length - 1];
    const writer = segment?.writer;
    if (segment) segment.writer = null;
    await writer?.close();
  }

  private writerOf(segment: Segment) {
    if (!segment.writer) throw new Error(`WAL segment ${segment.path} has no writer`);
    return segment.writer;
  }
}
