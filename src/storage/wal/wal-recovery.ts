import { join } from 'node:path';
import type { FileHandle, FileSystem } from '../fs/file-system.js';
import { StorageCorruptionError } from '../storage-errors.js';
import type { StorageLogger } from '../storage-logger.js';
import { findValidFrameAfter, firstNonZeroOffset, isZeroFilled, SCAN_CONTINUE, scanFrames, type ScanProblem } from './frame-scanner.js';
import {
  ENTRY_PAYLOAD_HEADER_BYTES,
  entryIndexOf,
  entryPayloadProblem,
  entryTermOf,
  FRAME_HEADER_BYTES,
  FrameStatus,
  RecordType,
  recordTypeOf,
  TRUNCATE_PAYLOAD_BYTES,
  truncateFromIndexOf,
} from './record-codec.js';
import { openSegmentWriter, parseSegmentFileName, Segment, segmentFileName } from './segment.js';
import { TermRuns } from './term-runs.js';

export interface WalRecoveryOptions {
  readonly logger: StorageLogger;
  readonly fsync: boolean;
  readonly chunkBytes: number;
  /** Name of the first segment of a directory that has none. */
  readonly emptyFirstIndex: number;
}

export interface RecoveredWal {
  /** In log order; never empty; the last one has its writer open. */
  readonly segments: Segment[];
  readonly terms: TermRuns;
}

/**
 * Replays every segment to rebuild the index (index -> segment, offset) and the term runs.
 * A run of zeros from the end of the records to the end of the file is a clean end in any
 * segment: the WAL writes zeros ahead of its append position (wal-zero-fill.ts). A torn tail of
 * the last segment is cut off and reported; any other damage throws a StorageCorruptionError
 * naming the file and offset, so committed data is never dropped quietly.
 *
 * Segments before the last keep their zero tails (the writer does not truncate them at a roll):
 * a lost record at the end of such a segment is caught by the index continuity check between
 * segments, not by the file size, and the zeros cost recovery one sequential read of at most a
 * zero-fill step per segment, while truncating at each roll would add a size change and a
 * datasync (a journal commit) to the commit path every time a segment fills.
 */
export async function recoverWal(fs: FileSystem, dir: string, options: WalRecoveryOptions): Promise<RecoveredWal> {
  await fs.mkdir(dir);
  const firstIndices: number[] = [];
  for (const name of await fs.readdir(dir)) {
    const firstIndex = parseSegmentFileName(name);
    if (firstIndex === null) options.logger.warn(`WAL: ignoring unexpected file ${join(dir, name)}`);
    else firstIndices.push(firstIndex);
  }
  firstIndices.sort((a, b) => a - b);

  const terms = new TermRuns();
  const segments: Segment[] = [];
  if (firstIndices.length === 0) {
    const segment = new Segment(options.emptyFirstIndex, join(dir, segmentFileName(options.emptyFirstIndex)), 0);
    segment.writer = await openSegmentWriter(fs, segment.path, options.fsync);
    await segment.writer.truncate(0);
    if (options.fsync) {
      await segment.writer.datasync();
      await fs.syncDir(dir);
    }
    return { segments: [segment], terms };
  }

  for (let i = 0; i < firstIndices.length; i++) {
    const isLast = i === firstIndices.length - 1;
    const segment = new Segment(firstIndices[i], join(dir, segmentFileName(firstIndices[i])), 0);
    const previous = segments[segments.length - 1];
    if (previous && segment.firstIndex !== previous.lastIndex + 1) {
      throw new StorageCorruptionError(
        segment.path,
        0,
        `segment starts at index ${segment.firstIndex} but ${previous.path} ends at index ${previous.lastIndex}; ` +
          `a segment is missing or was damaged`,
      );
    }
    const handle = isLast ? await openSegmentWriter(fs, segment.path, options.fsync) : await fs.open(segment.path, 'read');
    try {
      await replaySegment(segment, handle, isLast, terms, options);
    } catch (error) {
      await handle.close();
      throw error;
    }
    if (isLast) segment.writer = handle;
    else await handle.close();
    segments.push(segment);
  }
  if (options.fsync) {
    // What was just read may be only in the page cache: the previous process may have died
    // after a failed fsync (its writes stay readable but not durable), or between creating a
    // segment and syncing the directory. The node is about to rely on this log (vote, ack), so
    // make it durable first; the earlier segments were synced before the next one was started.
    await segments[segments.length - 1].writer?.datasync();
    await fs.syncDir(dir);
  }
  return { segments, terms };
}

async function replaySegment(
  segment: Segment,
  handle: FileHandle,
  isLast: boolean,
  terms: TermRuns,
  options: WalRecoveryOptions,
): Promise<void> {
  const fileBytes = await handle.size();
  const scan = await scanFrames(handle, 0, fileBytes, options.chunkBytes, (source, start, end, frameOffset) => {
    const type = recordTypeOf(source, start);
    if (type === RecordType.Entry) {
      const problem = entryPayloadProblem(source, start, end);
      if (problem) return problem;
      const index = entryIndexOf(source, start);
      if (index !== segment.lastIndex + 1) return `entry index ${index} where ${segment.lastIndex + 1} was expected`;
      const term = entryTermOf(source, start);
      if (term < 0) return 'entry term out of range';
      segment.pushEntry(index, frameOffset);
      terms.append(index, term);
      return SCAN_CONTINUE;
    }
    if (type === RecordType.Truncate) {
      if (end - start !== TRUNCATE_PAYLOAD_BYTES) return 'truncation record of the wrong size';
      const fromIndex = truncateFromIndexOf(source, start);
      if (fromIndex < segment.firstIndex || fromIndex > segment.lastIndex + 1) {
        return `truncation from index ${fromIndex} outside this segment (${segment.firstIndex}..${segment.lastIndex + 1})`;
      }
      segment.truncateFrom(fromIndex);
      terms.truncateFrom(fromIndex);
      return SCAN_CONTINUE;
    }
    return `unknown record type ${type}`;
  });

  segment.recordsEndAt(scan.end);
  if (!scan.problem) return;
  const firstNonZero = await firstNonZeroOffset(handle, scan.problem.offset, fileBytes, options.chunkBytes);
  if (firstNonZero === null) {
    // Only zeros from the end of the records to the end of the file (fewer than a frame header's
    // worth reads as "incomplete"): written ahead by the writer, or extended but never filled.
    segment.zeroedEnd = fileBytes;
    return;
  }
  // Where the records end in a zero length, the first non-zero byte after those zeros.
  const nonZeroAt = scan.problem.status === FrameStatus.Zero ? firstNonZero : null;
  const notTorn = isLast
    ? await whyNotATornTail(handle, scan.problem, nonZeroAt, fileBytes, segment, options.chunkBytes)
    : nonZeroAt === null
      ? 'not the last segment'
      : `non-zero bytes at byte offset ${nonZeroAt} after it; not the last segment`;
  if (notTorn !== null) {
    throw new StorageCorruptionError(
      segment.path,
      scan.problem.offset,
      `${scan.problem.reason}${notTorn ? ` (${notTorn})` : ''}; refusing to open the WAL`,
    );
  }
  // Everything from here on was never acknowledged: it belonged to the write in flight at the crash.
  await handle.truncate(scan.end);
  if (options.fsync) await handle.datasync();
  options.logger.warn(
    `WAL: repaired a torn tail in ${segment.path}: ${scan.problem.reason} at byte offset ${scan.problem.offset}; ` +
      `truncated ${fileBytes - scan.end} bytes (last entry now ${segment.lastIndex})`,
  );
}

/**
 * A torn write leaves non-zero bytes in at most the block it was cut in (sectors are 512 or
 * 4096 bytes; a 4096-byte aligned block holds either).
 */
const TORN_BLOCK_BYTES = 4096;

/**
 * A torn tail is what an interrupted append leaves: its first bad record, and after it only what
 * the same unsynced write left behind: nothing, zeros (space the file system extended, or the
 * writer zero-filled, but never filled with records), or the rest of a torn sector (a partial
 * payload, or garbage where a sector was half written, which may even read as a damaged length).
 * What it can never leave is a whole valid record after the bad one: a record written after it
 * means the bad one was once complete, and its records may have been acknowledged. So a bad
 * record in the last segment is a tear exactly when no valid record follows it.
 * Where the records end in zeros (`nonZeroAt` is the first non-zero byte after them), the only
 * write that can have left non-zero bytes further on is a zero-fill step cut by a power loss at
 * the end of the file: its torn block. Non-zero bytes anywhere before that block were there
 * before the zeros: damage.
 * Returns null for a torn tail, otherwise why it is not one.
 */
async function whyNotATornTail(
  handle: FileHandle,
  problem: ScanProblem,
  nonZeroAt: number | null,
  fileBytes: number,
  segment: Segment,
  chunkBytes: number,
): Promise<string | null> {
  if (nonZeroAt !== null && Math.floor(nonZeroAt / TORN_BLOCK_BYTES) !== Math.floor((fileBytes - 1) / TORN_BLOCK_BYTES)) {
    return `non-zero bytes at byte offset ${nonZeroAt} after it, before the last block of the file`;
  }
  // Fast path for the usual tear: zeros only after the bad record.
  if (problem.status === FrameStatus.BadChecksum && (await isZeroFilled(handle, problem.frameEnd, fileBytes, chunkBytes))) return null;
  if (problem.status === undefined) return ''; // a checksummed record with bad content is damage, never a tear
  const found = await findValidFrameAfter(handle, problem.offset, fileBytes, recordScreen(segment));
  return found === null ? null : `yet a valid record follows at byte offset ${found}`;
}

/**
 * Screens a candidate frame before its checksum is computed: it must fit, and carry an entry whose
 * index could follow in this segment, or a truncation record.
 */
function recordScreen(segment: Segment): (source: Buffer, frameStart: number, available: number) => boolean {
  return (source, frameStart, available) => {
    const length = source.readUInt32LE(frameStart);
    const payload = frameStart + FRAME_HEADER_BYTES;
    if (length === 0 || payload + length > available) return false;
    const type = recordTypeOf(source, payload);
    if (type === RecordType.Truncate) return length === TRUNCATE_PAYLOAD_BYTES;
    if (type !== RecordType.Entry || length < ENTRY_PAYLOAD_HEADER_BYTES) return false;
    const index = entryIndexOf(source, payload);
    const indexCeiling = segment.lastIndex + 1 + Math.ceil(available / (FRAME_HEADER_BYTES + ENTRY_PAYLOAD_HEADER_BYTES));
    return index >= segment.firstIndex && index <= indexCeiling;
  };
}
