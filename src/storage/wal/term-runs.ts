/**
 * The term of every entry in the log, kept as runs (first index of each term), since terms change
 * rarely: a few numbers per leader change instead of one per entry.
 * Invariant: starts[] strictly increasing; run k covers [starts[k], starts[k+1]).
 */
export class TermRuns {
  private readonly starts: number[] = [];
  private readonly terms: number[] = [];

  /** The caller appends indices in order, each one past the last. */
  append(index: number, term: number): void {
    const last = this.terms.length - 1;
    if (last >= 0 && this.terms[last] === term) return;
    this.starts.push(index);
    this.terms.push(term);
  }

  /** Forgets the terms of indices >= index. */
  truncateFrom(index: number): void {
    while (this.starts.length > 0 && this.starts[this.starts.length - 1] >= index) {
      this.starts.pop();
      this.terms.pop();
    }
  }

  /** Forgets runs wholly below `index`, keeping the one that covers it. */
  dropBefore(index: number): void {
    let drop = 0;
    while (drop + 1 < this.starts.length && this.starts[drop + 1] <= index) drop++;
    if (drop > 0) {
      this.starts.splice(0, drop);
      this.terms.splice(0, drop);
    }
  }

  clear(): void {
    this.starts.length = 0;
    this.terms.length = 0;
  }

  /** The term of `index`; the caller checks that the index is in the log. */
  termAt(index: number): number | undefined {
    let lo = 0;
    let hi = this.starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.starts[mid] <= index) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? undefined : this.terms[found];
  }
}
