/**
 * A sorted map of string keys to string values, kept as records in small off-heap pages
 * (record-page.ts) in key order. Two levels only: an array of pages, found by binary search on
 * their first keys, then a walk inside the page. Pages live in slots of shared slabs
 * (page-slabs.ts). At 1M keys of 100-byte values the map costs about its UTF-8 bytes plus a few
 * percent, and the GC sees ~30,000 small page objects.
 *
 * Snapshots: `freeze()` hands out the current page array in O(pages) pointer copies and starts a
 * new epoch. A page carries the epoch it was made writable in; an open view frozen at that epoch
 * or later may hold it, so such a page is copied before it is changed, and its slot is held back
 * until those views are released (or collected). A frozen view so keeps showing exactly the
 * state at the freeze while writes go on, each page is copied at most once per freeze, and with
 * no view open pages are changed in place.
 */
import { Buffer } from 'node:buffer';
import { PAGE_BYTES, PageSlabs } from './page-slabs.js';
import type { Utf8WritableBuffer } from '../snapshot-bytes.js';
import { LENGTH_BYTES, RecordPage, writeU32 } from './record-page.js';

/** A page over this many bytes is split (unless it is one record). */
export const PAGE_BYTES_MAX = PAGE_BYTES;
/** A page under this many bytes after a delete is merged with its neighbour when they fit. */
const PAGE_BYTES_SPARSE = PAGE_BYTES_MAX / 4;
/** A merge leaves room for a quarter of a page of inserts before the next split. */
const PAGE_BYTES_MERGED_MAX = (PAGE_BYTES_MAX * 3) / 4;
/** A neighbour takes records an overflowing page spills only up to this, keeping room for its own inserts. */
const PAGE_BYTES_SPILL_MAX = (PAGE_BYTES_MAX * 7) / 8;
/** Pages built in bulk (a restored snapshot) are filled to this, leaving room for inserts. */
const PAGE_BYTES_BULK_FILL = (PAGE_BYTES_MAX * 7) / 8;
/** A new map's epoch: pages a builder made for it carry it, so the map owns them. */
const FIRST_EPOCH = 1;

/** The state at one freeze: pages that will not change. */
export class FrozenRecords {
  constructor(
    private readonly pages: readonly RecordPage[],
    readonly size: number,
    private readonly onRelease: () => void,
  ) {}

  /**
   * The reader is done: the map may change these pages in place again and reuse their slots.
   * Nothing may be read from this view afterwards. A view never released is released when it is
   * garbage collected.
   */
  release(): void {
    this.onRelease();
  }

  /** The records in key order, a page at a time: the snapshot's key section, as it is. */
  *runs(): Generator<RecordRun> {
    for (const page of this.pages) if (page.count > 0) yield { bytes: page.bytes(), count: page.count };
  }

  *entries(): Generator<[string, string]> {
    for (const page of this.pages) for (let at = 0; at < page.used; at = page.recordEnd(at)) yield [page.keyAt(at), page.valueAt(at)];
  }
}

/** Whole records (record-page.ts layout) in key order, and how many. */
export interface RecordRun {
  readonly bytes: Uint8Array;
  readonly count: number;
}

interface FreezeToken {
  open: boolean;
  /** The map's epoch when the view was frozen. */
  readonly epoch: number;
}

/** The slot of a page out of the map that open views frozen in [fromEpoch, toEpoch) may read. */
interface HeldSlot {
  readonly slot: number;
  readonly fromEpoch: number;
  readonly toEpoch: number;
}

export class PagedSortedMap {
  private pages: RecordPage[];
  private count = 0;
  private epoch = FIRST_EPOCH;
  /** Frozen views not yet released, by the epoch they were frozen at: epoch -> count. */
  private readonly openViews = new Map<number, number>();
  private held: HeldSlot[] = [];
  private copies = 0;
  private readonly unreleased = new FinalizationRegistry<FreezeToken>((token) => this.close(token));
  /** The UTF-8 of the key being looked up; grown to the longest key seen. */
  private scratch: Buffer = Buffer.allocUnsafeSlow(256);

  constructor(private readonly slabs = new PageSlabs()) {
    this.pages = [newPage(this.slabs, 0, FIRST_EPOCH)];
  }

  /** A map of pages nobody else holds, from `slabs`, in key order, none empty, `size` records in all. */
  static ofOwnedPages(slabs: PageSlabs, pages: RecordPage[], size: number): PagedSortedMap {
    const map = new PagedSortedMap(slabs);
    if (pages.length > 0) {
      for (const page of map.pages) map.discard(page);
      map.pages = pages;
    }
    map.count = size;
    return map;
  }

  get size(): number {
    return this.count;
  }

  /** Pages copied so far because a frozen view held them (for tests). */
  get pagesCopied(): number {
    return this.copies;
  }

  /** Bytes the pages hold, room included: their slots and the buffers of large records (for tests). */
  get bytesAllocated(): number {
    let total = 0;
    for (const page of this.pages) total += page.capacity;
    return total;
  }

  /** Slab slots not free: the pages', and those waiting for frozen views to close (for tests). */
  get slotsHeld(): number {
    return this.slabs.slotsHeld;
  }

  /** Pages in a slab slot, as opposed to a buffer of their own (for tests). */
  get pagesInSlots(): number {
    let n = 0;
    for (const page of this.pages) if (page.slot >= 0) n++;
    return n;
  }

  /** How many pages hold the records (for tests). */
  get pageCount(): number {
    return this.pages.length;
  }

  get(key: string): string | undefined {
    const keyLen = this.encodeKey(key);
    const page = this.pages[this.pageIndexFor(key, keyLen)] as RecordPage;
    const at = page.seek(this.scratch, keyLen);
    return at < 0 ? undefined : page.valueAt(at);
  }

  set(key: string, value: string): void {
    const keyLen = this.encodeKey(key);
    const pageIndex = this.pageIndexFor(key, keyLen);
    const page = this.writable(pageIndex);
    const found = page.seek(this.scratch, keyLen);
    const valueLen = Buffer.byteLength(value, 'utf8');
    let at: number;
    if (found >= 0) {
      at = found;
      const end = page.recordEnd(at);
      this.makeRoom(page, end, at + 2 * LENGTH_BYTES + keyLen + valueLen - end);
    } else {
      at = -found - 1;
      this.makeRoom(page, at, 2 * LENGTH_BYTES + keyLen + valueLen);
      page.writeU32(at, keyLen);
      page.write(at + LENGTH_BYTES, this.scratch, 0, keyLen);
      page.count++;
      this.count++;
    }
    const valueLenAt = at + LENGTH_BYTES + keyLen;
    page.writeU32(valueLenAt, valueLen);
    page.writeUtf8(valueLenAt + LENGTH_BYTES, value);
    if (page.used > PAGE_BYTES_MAX && page.count > 1) {
      // Keys written in ascending order (a load) fill each page and start the next.
      const appendedLast = found < 0 && pageIndex === this.pages.length - 1 && page.recordEnd(at) === page.used;
      if (appendedLast || !this.spill(pageIndex)) this.split(pageIndex, appendedLast);
    }
  }

  /** Removes `key`; false if it was absent. */
  delete(key: string): boolean {
    const keyLen = this.encodeKey(key);
    const pageIndex = this.pageIndexFor(key, keyLen);
    const at = (this.pages[pageIndex] as RecordPage).seek(this.scratch, keyLen);
    if (at < 0) return false;
    const page = this.writable(pageIndex);
    const end = page.recordEnd(at);
    this.makeRoom(page, end, at - end);
    page.count--;
    this.count--;
    if (page.count === 0 && this.pages.length > 1) {
      this.pages.splice(pageIndex, 1);
      this.discard(page);
    } else {
      this.mergeIfSparse(pageIndex);
    }
    return true;
  }

  /** Every [key, value] from the first key >= `from` (or the first key), in key order. */
  *entries(from?: string): Generator<[string, string]> {
    let pageIndex = 0;
    let at = 0;
    if (from !== undefined) {
      const keyLen = this.encodeKey(from);
      pageIndex = this.pageIndexFor(from, keyLen);
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
    const token: FreezeToken = { open: true, epoch: this.epoch };
    const frozen = new FrozenRecords(this.pages.slice(), this.count, () => this.close(token));
    this.unreleased.register(frozen, token, token);
    this.openViews.set(this.epoch, (this.openViews.get(this.epoch) ?? 0) + 1);
    this.epoch++;
    return frozen;
  }

  private close(token: FreezeToken): void {
    if (!token.open) return;
    token.open = false;
    this.unreleased.unregister(token);
    const left = (this.openViews.get(token.epoch) ?? 1) - 1;
    if (left === 0) this.openViews.delete(token.epoch);
    else this.openViews.set(token.epoch, left);
    this.held = this.held.filter((h) => {
      if (this.anyViewOpen(h.fromEpoch, h.toEpoch)) return true;
      this.slabs.release(h.slot);
      return false;
    });
  }

  /** Whether a view frozen at an epoch in [from, to) is still open. */
  private anyViewOpen(from: number, to: number): boolean {
    for (const epoch of this.openViews.keys()) if (epoch >= from && epoch < to) return true;
    return false;
  }

  /** Makes the page at `index` safe to change: a copy if an open frozen view may hold it. */
  private writable(index: number): RecordPage {
    const page = this.pages[index] as RecordPage;
    if (page.epoch === this.epoch) return page;
    if (!this.anyViewOpen(page.epoch, this.epoch)) {
      page.epoch = this.epoch;
      return page;
    }
    const copy = newPage(this.slabs, page.used, this.epoch);
    copy.write(0, page.buf, page.base, page.base + page.used);
    copy.count = page.count;
    this.pages[index] = copy;
    this.discard(page);
    this.copies++;
    return copy;
  }

  /** A page is out of the map: its slot is reused now, or once no open frozen view may read it. */
  private discard(page: RecordPage): void {
    if (page.slot < 0) return;
    if (this.anyViewOpen(page.epoch, this.epoch)) this.held.push({ slot: page.slot, fromEpoch: page.epoch, toEpoch: this.epoch });
    else this.slabs.release(page.slot);
    page.slot = -1;
  }

  /**
   * Moves the bytes from `at` to the end of the (writable) page by `delta`: a gap to write into
   * when positive, closing one when negative. Moves the page to a buffer of its own when it
   * outgrows its slot (it is split next, or holds one large record), and back into a slot when
   * it fits one again.
   */
  private makeRoom(page: RecordPage, at: number, delta: number): void {
    const used = page.used + delta;
    if (used <= PAGE_BYTES && page.slot >= 0) {
      page.shift(at, delta);
      return;
    }
    const moved = newPage(this.slabs, used, page.epoch);
    // When closing a gap, the bytes just before `at` are the ones dropped.
    const headEnd = delta < 0 ? at + delta : at;
    moved.write(0, page.buf, page.base, page.base + headEnd);
    moved.write(at + delta, page.buf, page.base + at, page.base + page.used);
    this.discard(page);
    page.moveTo(moved.buf, moved.base, moved.capacity, moved.slot, used);
  }

  /**
   * The page where `key` is or would go: the last whose first key is <= it (or the first).
   * `keyLen` is its UTF-8 length, already in the scratch buffer.
   */
  private pageIndexFor(key: string, keyLen: number): number {
    // Compared as in RecordPage.firstKeyBytes: one char per UTF-8 byte. An ASCII key is that already.
    const probe = keyLen === key.length ? key : this.scratch.toString('latin1', 0, keyLen);
    let lo = 0;
    let hi = this.pages.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.pages[mid] as RecordPage).firstKeyBytes() <= probe) lo = mid;
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
   * oversized. The page keeps the left half: only the right half is copied.
   */
  private split(index: number, appendedLast: boolean): void {
    const left = this.pages[index] as RecordPage;
    const cut = appendedLast ? lastRecordStart(left) : middleBoundary(left);
    const leftCount = countRecords(left, 0, cut);
    const right = newPage(this.slabs, left.used - cut, this.epoch);
    right.write(0, left.buf, left.base + cut, left.base + left.used);
    right.count = left.count - leftCount;
    left.count = leftCount;
    // Dropping the right half from the end moves nothing, but puts a page that fits a slot
    // again back into one.
    this.makeRoom(left, left.used, cut - left.used);
    this.pages.splice(index + 1, 0, right);
    if (right.used > PAGE_BYTES_MAX && right.count > 1) this.split(index + 1, false);
    if (left.used > PAGE_BYTES_MAX && left.count > 1) this.split(index, false);
  }

  /**
   * Moves the records of an oversized (writable) page that do not fit to a neighbour with room,
   * the next page first; false if neither has room. Splitting only when both neighbours are
   * full keeps pages ~80% full under inserts in any order, instead of ~2/3.
   */
  private spill(index: number): boolean {
    const page = this.pages[index] as RecordPage;
    const next = this.pages[index + 1];
    const keep = lastBoundaryWithin(page, PAGE_BYTES_MAX);
    if (next !== undefined && keep > 0 && next.used + page.used - keep <= PAGE_BYTES_SPILL_MAX) {
      const target = this.writable(index + 1);
      const moved = page.used - keep;
      this.makeRoom(target, 0, moved);
      target.write(0, page.buf, page.base + keep, page.base + page.used);
      const count = countRecords(page, keep, page.used);
      target.count += count;
      page.count -= count;
      this.makeRoom(page, page.used, keep - page.used);
      return true;
    }
    const previous = this.pages[index - 1];
    const give = firstBoundaryFrom(page, page.used - PAGE_BYTES_MAX);
    if (previous !== undefined && give < page.used && previous.used + give <= PAGE_BYTES_SPILL_MAX) {
      const target = this.writable(index - 1);
      const at = target.used;
      this.makeRoom(target, at, give);
      target.write(at, page.buf, page.base, page.base + give);
      const count = countRecords(page, 0, give);
      target.count += count;
      page.count -= count;
      this.makeRoom(page, give, -give);
      return true;
    }
    return false;
  }

  /** Merges a sparse page into a neighbour (the previous one first) when both fit in one. */
  private mergeIfSparse(index: number): void {
    const page = this.pages[index] as RecordPage;
    if (page.used >= PAGE_BYTES_SPARSE) return;
    for (const first of [index - 1, index]) {
      const a = this.pages[first];
      const b = this.pages[first + 1];
      if (a === undefined || b === undefined || a.used + b.used > PAGE_BYTES_MERGED_MAX) continue;
      const merged = newPage(this.slabs, a.used + b.used, this.epoch);
      merged.write(0, a.buf, a.base, a.base + a.used);
      merged.write(a.used, b.buf, b.base, b.base + b.used);
      merged.count = a.count + b.count;
      this.pages.splice(first, 2, merged);
      this.discard(a);
      this.discard(b);
      return;
    }
  }
}

/** Builds a map from records in strictly ascending key order (a snapshot being restored). */
export class PagedSortedMapBuilder {
  private readonly slabs = new PageSlabs();
  private readonly pages: RecordPage[] = [];
  private page: RecordPage | null = null;
  private total = 0;

  /** Adds whole records (record-page.ts layout), `count` of them, all after those added so far. */
  addRecords(records: Buffer, count: number): void {
    let page = this.page;
    if (page === null || page.used + records.length > (page.used === 0 ? page.capacity : PAGE_BYTES_BULK_FILL)) {
      page = newPage(this.slabs, records.length, FIRST_EPOCH);
      page.used = 0;
      this.pages.push(page);
      this.page = page;
    }
    page.write(page.used, records, 0, records.length);
    page.used += records.length;
    page.count += count;
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
    return PagedSortedMap.ofOwnedPages(this.slabs, this.pages, this.total);
  }
}

/** An empty-of-records page with room for `used` bytes (which it reports as used). */
function newPage(slabs: PageSlabs, used: number, epoch: number): RecordPage {
  if (used <= PAGE_BYTES) {
    const slot = slabs.alloc();
    return new RecordPage(slabs.bufferOf(slot), slabs.baseOf(slot), PAGE_BYTES, slot, used, 0, epoch);
  }
  // One large record (or a page about to be split): a buffer of its own, left to the GC.
  return new RecordPage(Buffer.allocUnsafeSlow(used), 0, used, -1, used, 0, epoch);
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

/** The last record boundary at or below `limit` (0 if the first record is larger). */
function lastBoundaryWithin(page: RecordPage, limit: number): number {
  let at = 0;
  while (at < page.used) {
    const end = page.recordEnd(at);
    if (end > limit) break;
    at = end;
  }
  return at;
}

/** The first record boundary at or past `from`. */
function firstBoundaryFrom(page: RecordPage, from: number): number {
  let at = 0;
  while (at < from) at = page.recordEnd(at);
  return at;
}

function countRecords(page: RecordPage, from: number, to: number): number {
  let n = 0;
  for (let at = from; at < to; at = page.recordEnd(at)) n++;
  return n;
}
