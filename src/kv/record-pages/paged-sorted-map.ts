/**
 * A sorted map of string keys to string values, kept as records in small off-heap pages
 * (record-page.ts) in key order. Two levels only: an array of pages, found by binary search on
 * their first keys, then a walk inside the page. At 1M keys of 100-byte values the map costs
 * about its UTF-8 bytes plus a few percent, and the GC sees ~40,000 page objects.
 *
 * Snapshots: `freeze()` hands out the current page array in O(pages) pointer copies and starts a
 * new epoch; while any frozen view is open, a page from an older epoch is copied before it is
 * changed, so a frozen view keeps showing exactly the state at the freeze while writes go on
 * (each page is copied at most once per freeze). Once every view is released (or collected),
 * pages are changed in place again: a copy is made only while someone may read the old one.
 */
import { Buffer } from 'node:buffer';
import { LENGTH_BYTES, RecordPage, writeU32 } from './record-page.js';

/** A page over this many bytes is split (unless it is one record). */
export const PAGE_BYTES_MAX = 4096;
/** A page under this many bytes after a delete is merged with its neighbour when they fit. */
const PAGE_BYTES_SPARSE = PAGE_BYTES_MAX / 4;
/** A merge leaves room for a quarter of a page of inserts before the next split. */
const PAGE_BYTES_MERGED_MAX = (PAGE_BYTES_MAX * 3) / 4;
/** Pages built in bulk (a restored snapshot) are filled to this, leaving room for inserts. */
const PAGE_BYTES_BULK_FILL = (PAGE_BYTES_MAX * 7) / 8;

/** Buffer#utf8Write (see snapshot-bytes.ts): writes without normalising its arguments. */
interface Utf8WritableBuffer extends Buffer {
  utf8Write(s: string, offset: number): number;
}

/** The state at one freeze: pages that will not change. */
export class FrozenRecords {
  constructor(
    private readonly pages: readonly RecordPage[],
    readonly size: number,
    private readonly onRelease: () => void,
  ) {}

  /**
   * The reader is done: the map may change these pages in place again. Nothing may be read from
   * this view afterwards. A view never released is released when it is garbage collected.
   */
  release(): void {
    this.onRelease();
  }

  /** The records in key order, a page at a time: the snapshot's key section, as it is. */
  *runs(): Generator<RecordRun> {
    for (const page of this.pages) if (page.count > 0) yield { bytes: page.records(), count: page.count };
  }

  *entries(): Generator<[string, string]> {
    for (const page of this.pages) for (let at = 0; at < page.used; at = page.recordEnd(at)) yield [page.keyAt(at), page.valueAt(at)];
  }
}

interface FreezeToken {
  open: boolean;
}

/** Whole records (record-page.ts layout) in key order, and how many. */
export interface RecordRun {
  readonly bytes: Uint8Array;
  readonly count: number;
}

/** A new map's epoch: pages a builder made for it carry it, so the map owns them. */
const FIRST_EPOCH = 1;

export class PagedSortedMap {
  private pages: RecordPage[] = [RecordPage.empty(FIRST_EPOCH)];
  private count = 0;
  private epoch = FIRST_EPOCH;
  /** Frozen views not yet released: while there is one, older pages are copied before a change. */
  private openFreezes = 0;
  private copies = 0;
  private readonly unreleased = new FinalizationRegistry<FreezeToken>((token) => this.close(token));
  /** The UTF-8 of the key being looked up; grown to the longest key seen. */
  private scratch: Buffer = Buffer.allocUnsafeSlow(256);

  /** A map of pages nobody else holds, in key order, none empty, `size` records in all. */
  static ofOwnedPages(pages: RecordPage[], size: number): PagedSortedMap {
    const map = new PagedSortedMap();
    if (pages.length > 0) map.pages = pages;
    map.count = size;
    return map;
  }

  get size(): number {
    return this.count;
  }

  /** Pages copied so far because a frozen view held them (for tests and metrics). */
  get pagesCopied(): number {
    return this.copies;
  }

  /** Bytes of the buffers the pages hold, room included (for tests and metrics). */
  get bytesAllocated(): number {
    let total = 0;
    for (const page of this.pages) total += page.buf.length;
    return total;
  }

  /** How many pages hold the records (for tests and metrics). */
  get pageCount(): number {
    return this.pages.length;
  }

  get(key: string): string | undefined {
    const keyLen = this.encodeKey(key);
    const page = this.pages[this.pageIndexFor(keyLen)] as RecordPage;
    const at = page.seek(this.scratch, keyLen);
    return at < 0 ? undefined : page.valueAt(at);
  }

  set(key: string, value: string): void {
    const keyLen = this.encodeKey(key);
    const pageIndex = this.pageIndexFor(keyLen);
    const page = this.writable(pageIndex);
    const found = page.seek(this.scratch, keyLen);
    const valueLen = Buffer.byteLength(value, 'utf8');
    let at: number;
    if (found >= 0) {
      at = found;
      const end = page.recordEnd(at);
      const newEnd = at + 2 * LENGTH_BYTES + keyLen + valueLen;
      makeRoom(page, end, newEnd - end);
    } else {
      at = -found - 1;
      makeRoom(page, at, 2 * LENGTH_BYTES + keyLen + valueLen);
      writeU32(page.buf, at, keyLen);
      this.scratch.copy(page.buf, at + LENGTH_BYTES, 0, keyLen);
      page.count++;
      this.count++;
    }
    const valueLenAt = at + LENGTH_BYTES + keyLen;
    writeU32(page.buf, valueLenAt, valueLen);
    (page.buf as Utf8WritableBuffer).utf8Write(value, valueLenAt + LENGTH_BYTES);
    if (page.used > PAGE_BYTES_MAX && page.count > 1) {
      // Keys written in ascending order (a load) fill each page and start the next.
      const appendedLast = found < 0 && pageIndex === this.pages.length - 1 && page.recordEnd(at) === page.used;
      this.split(pageIndex, appendedLast);
    }
  }

  /** Removes `key`; false if it was absent. */
  delete(key: string): boolean {
    const keyLen = this.encodeKey(key);
    const pageIndex = this.pageIndexFor(keyLen);
    const at = (this.pages[pageIndex] as RecordPage).seek(this.scratch, keyLen);
    if (at < 0) return false;
    const page = this.writable(pageIndex);
    const end = page.recordEnd(at);
    makeRoom(page, end, at - end);
    page.count--;
    this.count--;
    if (page.count === 0 && this.pages.length > 1) this.pages.splice(pageIndex, 1);
    else this.mergeIfSparse(pageIndex);
    return true;
  }

  /** Every [key, value] from the first key >= `from` (or the first key), in key order. */
  *entries(from?: string): Generator<[string, string]> {
    let pageIndex = 0;
    let at = 0;
    if (from !== undefined) {
      const keyLen = this.encodeKey(from);
      pageIndex = this.pageIndexFor(keyLen);
      const found = (this.pages[pageIndex] as RecordPage).seek(this.scratch, keyLen);
      at = found >= 0 ? found : -found - 1;
    }
    for (; pageIndex < this.pages.length; pageIndex++, at = 0) {
      const page = this.pages[pageIndex] as RecordPage;
      while (at < page.used) {
        yield [page.keyAt(at), page.valueAt(at)];
        at = page.recordEnd(at);
      }
    }
  }

  /** The state as it is now, unchanged by later writes (see the file comment). */
  freeze(): FrozenRecords {
    const token: FreezeToken = { open: true };
    const frozen = new FrozenRecords(this.pages.slice(), this.count, () => this.close(token));
    this.unreleased.register(frozen, token, token);
    this.openFreezes++;
    this.epoch++;
    return frozen;
  }

  private close(token: FreezeToken): void {
    if (!token.open) return;
    token.open = false;
    this.unreleased.unregister(token);
    this.openFreezes--;
  }

  /** Makes the page at `index` safe to change: a copy if an open frozen view may hold it. */
  private writable(index: number): RecordPage {
    const page = this.pages[index] as RecordPage;
    if (page.epoch === this.epoch) return page;
    if (this.openFreezes === 0) {
      page.epoch = this.epoch;
      return page;
    }
    const copy = RecordPage.copyOf(page.records(), page.count, capacityFor(page.used), this.epoch);
    this.pages[index] = copy;
    this.copies++;
    return copy;
  }

  /** The page where `key` is or would go: the last whose first key is <= it (or the first). */
  private pageIndexFor(keyLen: number): number {
    let lo = 0;
    let hi = this.pages.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.pages[mid] as RecordPage).compareFirstKey(this.scratch, keyLen) <= 0) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private encodeKey(key: string): number {
    if (key.length * 3 > this.scratch.length) {
      this.scratch = Buffer.allocUnsafeSlow(Math.max(Buffer.byteLength(key, 'utf8'), 2 * this.scratch.length));
    }
    return (this.scratch as Utf8WritableBuffer).utf8Write(key, 0);
  }

  /**
   * Splits an oversized (writable) page at a record boundary, again while a half is still
   * oversized. The page keeps the left half in its own buffer: only the right half is copied.
   */
  private split(index: number, appendedLast: boolean): void {
    const left = this.pages[index] as RecordPage;
    const cut = appendedLast ? lastRecordStart(left) : middleBoundary(left);
    const leftCount = countRecords(left, 0, cut);
    const right = RecordPage.copyOf(left.buf.subarray(cut, left.used), left.count - leftCount, capacityFor(left.used - cut), this.epoch);
    left.used = cut;
    left.count = leftCount;
    fitCapacity(left);
    this.pages.splice(index + 1, 0, right);
    if (right.used > PAGE_BYTES_MAX && right.count > 1) this.split(index + 1, false);
    if (left.used > PAGE_BYTES_MAX && left.count > 1) this.split(index, false);
  }

  /** Merges a sparse page into a neighbour (the previous one first) when both fit in one. */
  private mergeIfSparse(index: number): void {
    const page = this.pages[index] as RecordPage;
    if (page.used >= PAGE_BYTES_SPARSE) return;
    for (const first of [index - 1, index]) {
      const a = this.pages[first];
      const b = this.pages[first + 1];
      if (a === undefined || b === undefined || a.used + b.used > PAGE_BYTES_MERGED_MAX) continue;
      const merged = RecordPage.copyOf(a.records(), a.count + b.count, capacityFor(a.used + b.used), this.epoch);
      merged.buf.set(b.records(), a.used);
      merged.used = a.used + b.used;
      this.pages.splice(first, 2, merged);
      return;
    }
  }
}

/** Builds a map from records in strictly ascending key order (a snapshot being restored). */
export class PagedSortedMapBuilder {
  private readonly pages: RecordPage[] = [];
  private page: Buffer = Buffer.allocUnsafeSlow(PAGE_BYTES_MAX);
  private used = 0;
  private pageCount = 0;
  private total = 0;

  /** Adds whole records (record-page.ts layout), `count` of them, all after those added so far. */
  addRecords(records: Uint8Array, count: number): void {
    if (this.used > 0 && this.used + records.length > PAGE_BYTES_BULK_FILL) this.seal();
    if (records.length > this.page.length - this.used) {
      // Only a record larger than a page gets here: it fills a page of its own.
      this.page = Buffer.allocUnsafeSlow(records.length);
    }
    this.page.set(records, this.used);
    this.used += records.length;
    this.pageCount += count;
    this.total += count;
  }

  add(key: string, value: string): void {
    const keyLen = Buffer.byteLength(key, 'utf8');
    const valueLen = Buffer.byteLength(value, 'utf8');
    const record = Buffer.allocUnsafe(2 * LENGTH_BYTES + keyLen + valueLen);
    writeU32(record, 0, keyLen);
    (record as Utf8WritableBuffer).utf8Write(key, LENGTH_BYTES);
    writeU32(record, LENGTH_BYTES + keyLen, valueLen);
    (record as Utf8WritableBuffer).utf8Write(value, 2 * LENGTH_BYTES + keyLen);
    this.addRecords(record, 1);
  }

  finish(): PagedSortedMap {
    if (this.used > 0) this.seal();
    return PagedSortedMap.ofOwnedPages(this.pages, this.total);
  }

  private seal(): void {
    this.pages.push(new RecordPage(this.page, this.used, this.pageCount, FIRST_EPOCH));
    this.page = Buffer.allocUnsafeSlow(PAGE_BYTES_MAX);
    this.used = 0;
    this.pageCount = 0;
  }
}

/**
 * Moves the bytes from `at` to the end of the page by `delta` (a gap to write into when positive,
 * closing one when negative), in a new buffer if the page has no room (the caller then splits it)
 * or if it held a large record no longer there.
 */
function makeRoom(page: RecordPage, at: number, delta: number): void {
  const used = page.used + delta;
  const capacity = capacityFor(used);
  if (used <= page.buf.length && capacity === page.buf.length) {
    if (delta !== 0) page.buf.copyWithin(at + delta, at, page.used);
  } else {
    const buf = Buffer.allocUnsafeSlow(capacity);
    page.buf.copy(buf, 0, 0, at);
    page.buf.copy(buf, at + delta, at, page.used);
    page.buf = buf;
  }
  page.used = used;
}

/**
 * Every page has room for a full page, so inserts fill it in place until it splits: no buffer
 * grows step by step, leaving a trail of garbage buffers for the GC (and the allocator's
 * free lists) behind. Only a page of one large record is larger.
 */
function capacityFor(used: number): number {
  return Math.max(used, PAGE_BYTES_MAX);
}

/** Gives back the buffer of a page that no longer holds a large record. */
function fitCapacity(page: RecordPage): void {
  const capacity = capacityFor(page.used);
  if (page.buf.length === capacity) return;
  const buf = Buffer.allocUnsafeSlow(capacity);
  page.buf.copy(buf, 0, 0, page.used);
  page.buf = buf;
}

function lastRecordStart(page: RecordPage): number {
  let at = 0;
  let last = 0;
  while (at < page.used) {
    last = at;
    at = page.recordEnd(at);
  }
  return last;
}

/** The first record boundary at or past half the page, but never the page's end. */
function middleBoundary(page: RecordPage): number {
  let at = 0;
  let previous = 0;
  while (at < page.used / 2) {
    previous = at;
    at = page.recordEnd(at);
  }
  return at < page.used ? at : previous;
}

function countRecords(page: RecordPage, from: number, to: number): number {
  let n = 0;
  for (let at = from; at < to; at = page.recordEnd(at)) n++;
  return n;
}

