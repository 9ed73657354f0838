/**
 * Page-sized slots carved out of 1 MiB slabs, for the KV state's record pages.
 *
 * Why not one Buffer per page: every ArrayBuffer costs a JS wrapper, a backing-store record and
 * an allocator chunk, ~450 bytes per page (13 MiB at 1M keys), and a page buffer freed by the GC
 * goes back to the C allocator, whose free lists then hold on to the peak. Slots are reused here
 * instead, as soon as no one can read them.
 *
 * A slot is released only when no one can read it any more: paged-sorted-map.ts holds back the
 * slots of pages that an open frozen view may still read. Slabs are never given back.
 */
import { Buffer } from 'node:buffer';

/** Bytes of a slot: a page's room (a page holding one larger record gets a buffer of its own). */
export const PAGE_BYTES = 4096;
const SLOTS_PER_SLAB = 256;
const SLAB_BYTES = PAGE_BYTES * SLOTS_PER_SLAB;

export class PageSlabs {
  private readonly slabs: Buffer[] = [];
  private readonly free: number[] = [];
  private nextUnused = 0;

  /** A free slot's number; its bytes are `bufferOf(slot)` from `baseOf(slot)`, PAGE_BYTES long. */
  alloc(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    const slot = this.nextUnused++;
    if (slot >= this.slabs.length * SLOTS_PER_SLAB) this.slabs.push(Buffer.allocUnsafeSlow(SLAB_BYTES));
    return slot;
  }

  bufferOf(slot: number): Buffer {
    return this.slabs[Math.floor(slot / SLOTS_PER_SLAB)] as Buffer;
  }

  baseOf(slot: number): number {
    return (slot % SLOTS_PER_SLAB) * PAGE_BYTES;
  }

  /** No one reads the slot any more: reuse it. */
  release(slot: number): void {
    this.free.push(slot);
  }

  /** Slots not free: in use, or held back for a frozen view (for tests). */
  get slotsHeld(): number {
    return this.nextUnused - this.free.length;
  }
}
