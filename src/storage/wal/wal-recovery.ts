import { join } from 'node:path';
import type { FileHandle, FileSystem } from '../fs/file-system.js';
import { StorageCorruptionError } from '../storage-errors.js';
import type { StorageLogger } from '../storage-logger.js';
import { findValidFrameAfter, isZeroFilled, SCAN_CONTINUE, scanFrames, type ScanProblem } from './frame-scanner.js';
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
import { parseSegmentFileName, Segment, segmentFileName } from './segment.js';
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
 * A torn tail of the last segment is cut off and reported; any other damage throws a
 * StorageCorruptionError naming the file and offset, so committed data is never dropped quietly.
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
    segment.writer = await fs.open(segment.path, 'write');
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
    const handle = await fs.open(segment.path, isLast ? 'write' : 'read');
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

  segment.bytes = scan.end;
  if (!scan.problem) return;
  const notTorn = isLast ? await whyNotATornTail(handle, scan.problem, fileBytes, segment, options.chunkBytes) : 'not the last segment';
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
 * A torn tail is what an interrupted append leaves: a record cut short by the end of the file, or
 * a bad or zero record followed only by zeros up to the end (space the file system extended but
 * never filled). A bad record followed by later writes was once complete: that is damage, not a
 * tear. For a record cut short the bytes after its header may be anything (its partial payload),
 * but never a whole valid record: a genuine record ends past the end of the file, so nothing
 * written after it can be in the file. One there means the length field is damaged and the
 * records after it are real, perhaps acknowledged. A damaged length (TooLarge) is never a tear.
 * Returns null for a torn tail, otherwise why it is not one ('' when the reason says it all).
 */
async function whyNotATornTail(
  handle: FileHandle,
  problem: ScanProblem,
  fileBytes: number,
  segment: Segment,
  chunkBytes: number,
): Promise<string | null> {
  switch (problem.status) {
    case FrameStatus.Incomplete: {
      const found = await findValidFrameAfter(handle, problem.offset, fileBytes, recordScreen(segment));
      return found === null ? null : `yet a valid record follows at byte offset ${found}`;
    }
    case FrameStatus.Zero:
      return (await isZeroFilled(handle, problem.offset, fileBytes, chunkBytes)) ? null : 'data follows it';
    case FrameStatus.BadChecksum:
      return (await isZeroFilled(handle, problem.frameEnd, fileBytes, chunkBytes)) ? null : 'data follows it';
    default:
      return '';
  }
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
