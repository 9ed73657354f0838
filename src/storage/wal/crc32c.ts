import { crc32c } from '@node-rs/crc32';

/**
 * CRC32C (Castagnoli) of source[start, end). Large spans go to the native implementation; small
 * ones are computed here (slice-by-8 tables), because for a 100-byte record the cost of a native
 * call and of the view it needs outweighs the checksum itself, and recovery checks millions of them.
 * Both paths give the same value (record-codec.test.ts checks it).
 */
const NATIVE_FROM_BYTES = 512;
const POLY_REFLECTED = 0x82f63b78;
const TABLE = buildTable();

function buildTable(): Int32Array {
  const table = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY_REFLECTED : c >>> 1;
    table[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let t = 1; t < 8; t++) {
      const previous = table[(t - 1) * 256 + n];
      table[t * 256 + n] = (previous >>> 8) ^ table[previous & 0xff];
    }
  }
  return table;
}

export function crc32cOf(source: Uint8Array, start: number, end: number): number {
  if (end - start >= NATIVE_FROM_BYTES) return crc32c(source.subarray(start, end));
  return crc32cSmall(source, start, end);
}

export function crc32cSmall(source: Uint8Array, start: number, end: number): number {
  const t = TABLE;
  let c = -1;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = c ^ (source[i] | (source[i + 1] << 8) | (source[i + 2] << 16) | (source[i + 3] << 24));
    c =
      t[1792 + (a & 0xff)] ^
      t[1536 + ((a >>> 8) & 0xff)] ^
      t[1280 + ((a >>> 16) & 0xff)] ^
      t[1024 + (a >>> 24)] ^
      t[768 + source[i + 4]] ^
      t[512 + source[i + 5]] ^
      t[256 + source[i + 6]] ^
      t[source[i + 7]];
  }
  for (; i < end; i++) c = t[(c ^ source[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
