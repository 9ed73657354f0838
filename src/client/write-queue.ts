/**
 * Runs writes one at a time, in call order. SPEC 2: "A client sends its writes one at a time
 * with increasing seq": were two in flight, the later seq could be applied first, and the
 * earlier one, retried, would then be refused as stale (409) though never applied.
 * Bounded: past `pendingMax` waiting writes, a new one is refused at once.
 */
export class WriteQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  constructor(private readonly pendingMax: number) {
    if (!Number.isSafeInteger(pendingMax) || pendingMax < 1) throw new RangeError(`pendingMax must be a positive integer, got ${pendingMax}`);
  }

  /** Writes queued or running. */
  get size(): number {
    return this.pending;
  }

  /** Null when the queue is full (the caller reports it); else the result of `task`, run after every earlier one settled. */
  enqueue<T>(task: () => Promise<T>): Promise<T> | null {
    if (this.pending >= this.pendingMax) return null;
    this.pending += 1;
    const run = this.tail.then(task).finally(() => {
      this.pending -= 1;
    });
    // The next write waits for this one to settle, whether it succeeded or not.
    this.tail = run.catch(() => undefined);
    return run;
  }
}
