import type { Entry } from './messages.js';

/** Slab size of the arena: a few hundred entries' data each, so a retained window pins few slabs. */
export const ENTRY_ARENA_SLAB_BYTES = 256 * 1024;

/**
 * Packs the data of the entries the in-memory log retains into shared slabs.
 *
 * Why: an entry's data usually arrives as a view into a much larger buffer: a follower's is a
 * slice of the whole AppendEntries body it came in, a leader's a slice of one of Buffer's shared
 * 8 KiB pool slabs. The log keeps thousands of entries (the catch-up window behind the last
 * snapshot), and each kept view pins its whole parent buffer: kilobytes per entry of someone
 * else's garbage. Copying the data into a slab costs one small memcpy per entry and makes the
 * log's memory its own data plus one view object per entry; a slab is freed once every entry in
 * it is compacted or truncated away.
 *
 * Pure: no I/O, no clock. Invariant: a packed entry equals the original in every field and byte.
 */
export class EntryArena {
  private slab: Uint8Array;
  private at = 0;

  constructor(private readonly slabBytes = ENTRY_ARENA_SLAB_BYTES) {
    this.slab = new Uint8Array(0);
  }

  /** The entry itself if its data owns its buffer exactly (nothing to unpin), else a packed copy. */
  pack(entry: Entry): Entry {
    const data = entry.data;
    const n = data.byteLength;
    if (n === 0 || (data.byteOffset === 0 && data.buffer.byteLength === n)) return entry;
    let copy: Uint8Array;
    if (n > this.slabBytes / 4) {
      // A large entry gets a buffer of its own rather than wasting the rest of a slab. (Not
      // data.slice(): on a Buffer that is a view, not a copy.)
      copy = Uint8Array.prototype.slice.call(data);
    } else {
      if (this.at + n > this.slab.byteLength) {
        this.slab = new Uint8Array(this.slabBytes);
        this.at = 0;
      }
      this.slab.set(data, this.at);
      copy = this.slab.subarray(this.at, this.at + n);
      this.at += n;
    }
    return { index: entry.index, term: entry.term, type: entry.type, data: copy };
  }
}
