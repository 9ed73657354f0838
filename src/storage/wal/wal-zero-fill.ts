import type { Segment } from './segment.js';

export interface ZeroFillOptions {
  /** Bytes one step writes; 0 turns zero-filling off. */
  readonly stepBytes: number;
  /** A step starts once the records come within this many bytes of the zeroed end. */
  readonly lowWaterBytes: number;
  /** The zeroed end never passes this file offset (the segment size limit plus one batch). */
  readonly limitBytes: number;
}

/** Zeros that are never written to, shared by every filler (grown on demand). */
let sharedZeros = Buffer.alloc(0);

function zeros(bytes: number): Buffer {
  if (sharedZeros.length < bytes) sharedZeros = Buffer.alloc(bytes);
  return sharedZeros.subarray(0, bytes);
}

/**
 * Keeps the zone ahead of the last segment's append position filled with zeros, in the
 * background. Why: a durable (O_DSYNC) write that grows a file must also commit the new size
 * (on ext4, a journal commit per write); one that lands on blocks already written, inside the
 * file, commits only its data, which is measurably faster on the commit path.
 *
 * A step writes zeros over [from, to) with from = segment.zeroedEnd >= segment.bytes, through the
 * segment's own writer: with fsync on that handle is O_DSYNC, so the step is durable when it
 * resolves, with no separate sync (and with fsync off nothing is ever synced). The writer and a
 * step never write the same bytes: the writer waits (`before`) only when a batch would reach
 * `from`, and anything that closes, truncates or deletes the segment waits (`settle`) first.
 *
 * Correctness never depends on the zeros: recovery reads a run of zeros after the last record
 * as a clean end, and a step cut short by a power loss (zeros, then a torn block at the end of
 * the file) as a torn tail; every acknowledged record was made durable by its own O_DSYNC write.
 * One step at a time, at most: a failed step is reported to `onFailure` (the WAL fails as on
 * any failed write: the disk is suspect).
 */
export class SegmentZeroFiller {
  private inFlight: { readonly from: number; readonly done: Promise<void> } | null = null;

  constructor(
    private readonly options: ZeroFillOptions,
    private readonly onFailure: (error: unknown) => void,
  ) {}

  /** Starts a step on `segment` (the last one) if its records came near its zeroed end and none is in flight. */
  maybeStart(segment: Segment): void {
    if (this.inFlight || this.options.stepBytes === 0) return;
    const writer = segment.writer;
    const from = segment.zeroedEnd;
    const to = Math.min(from + this.options.stepBytes, this.options.limitBytes);
    if (!writer || to <= from || from - segment.bytes >= this.options.lowWaterBytes) return;
    const done = writer
      .write(zeros(to - from), from)
      .then(
        () => {
          segment.zeroedEnd = Math.max(segment.zeroedEnd, to);
        },
        (error: unknown) => this.onFailure(error),
      )
      .finally(() => {
        this.inFlight = null;
      });
    this.inFlight = { from, done };
  }

  /**
   * The step in flight, to wait for, if a write ending at file offset `end` would reach its
   * range; null otherwise (the common case: the append path then awaits nothing extra).
   */
  overlapping(end: number): Promise<void> | null {
    const step = this.inFlight;
    return step !== null && end > step.from ? step.done : null;
  }

  /** Waits for the step in flight, if any: before the segment's writer is closed or truncated, or its file deleted. */
  async settle(): Promise<void> {
    while (this.inFlight) await this.inFlight.done;
  }
}
