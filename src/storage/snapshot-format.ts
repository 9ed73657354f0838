import { crc32c } from '@node-rs/crc32';
import type { SnapshotMeta } from '../consensus/core/messages.js';
import type { FileHandle } from './fs/file-system.js';
import { StorageCorruptionError } from './storage-errors.js';
import { readU64, writeU64 } from './wal/record-codec.js';

/**
 * A snapshot file:
 *   header : magic "RKVSNAP1" | metaBytes u32 | metaCrc32c u32 | meta (JSON)
 *   data   : the state machine's bytes, streamed
 *   trailer: dataBytes u64 | dataCrc32c u32 | trailerCrc32c u32 (over the 12 bytes before it)
 * The data length and checksum sit at the end so the data can be written as it streams in.
 */
const MAGIC = Buffer.from('RKVSNAP1', 'ascii');
export const SNAPSHOT_HEADER_FIXED_BYTES = 16;
export const SNAPSHOT_TRAILER_BYTES = 16;
const META_BYTES_MAX = 1024 * 1024;

const SNAPSHOT_NAME = /^(\d{20})-(\d{20})\.snap$/;

/** `<term>-<index>.snap`, both zero-padded to 20 digits. */
export function snapshotFileName(meta: Pick<SnapshotMeta, 'index' | 'term'>): string {
  return `${String(meta.term).padStart(20, '0')}-${String(meta.index).padStart(20, '0')}.snap`;
}

export function parseSnapshotFileName(name: string): { term: number; index: number } | null {
  const match = SNAPSHOT_NAME.exec(name);
  if (!match) return null;
  const term = Number(match[1]);
  const index = Number(match[2]);
  return Number.isSafeInteger(term) && Number.isSafeInteger(index) ? { term, index } : null;
}

export function encodeSnapshotHeader(meta: SnapshotMeta): Buffer {
  const json = Buffer.from(JSON.stringify({ index: meta.index, term: meta.term, config: { voters: [...meta.config.voters] } }), 'utf8');
  const header = Buffer.allocUnsafe(SNAPSHOT_HEADER_FIXED_BYTES + json.length);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(json.length, 8);
  header.writeUInt32LE(crc32c(json), 12);
  json.copy(header, SNAPSHOT_HEADER_FIXED_BYTES);
  return header;
}

export function encodeSnapshotTrailer(dataBytes: number, dataCrc: number): Buffer {
  const trailer = Buffer.allocUnsafe(SNAPSHOT_TRAILER_BYTES);
  writeU64(trailer, 0, dataBytes);
  trailer.writeUInt32LE(dataCrc >>> 0, 8);
  trailer.writeUInt32LE(crc32c(trailer.subarray(0, 12)), 12);
  return trailer;
}

export interface SnapshotLayout {
  readonly meta: SnapshotMeta;
  /** File offset where the data starts. */
  readonly dataOffset: number;
  readonly dataBytes: number;
  readonly dataCrc: number;
}

/**
 * Checks header and trailer (not the data checksum: that needs a full read, see verifySnapshotData)
 * and returns where the data lies. Throws StorageCorruptionError naming the file and offset.
 */
export async function readSnapshotLayout(handle: FileHandle, path: string): Promise<SnapshotLayout> {
  const fileBytes = await handle.size();
  const fixed = Buffer.alloc(SNAPSHOT_HEADER_FIXED_BYTES);
  if ((await handle.read(fixed, 0)) < fixed.length || !fixed.subarray(0, 8).equals(MAGIC)) {
    throw new StorageCorruptionError(path, 0, 'not a snapshot file (bad magic)');
  }
  const metaBytes = fixed.readUInt32LE(8);
  const dataOffset = SNAPSHOT_HEADER_FIXED_BYTES + metaBytes;
  if (metaBytes > META_BYTES_MAX || dataOffset + SNAPSHOT_TRAILER_BYTES > fileBytes) {
    throw new StorageCorruptionError(path, 8, `snapshot header claims ${metaBytes} bytes of metadata in a ${fileBytes}-byte file`);
  }
  const metaJson = Buffer.alloc(metaBytes);
  await handle.read(metaJson, SNAPSHOT_HEADER_FIXED_BYTES);
  if (crc32c(metaJson) !== fixed.readUInt32LE(12)) {
    throw new StorageCorruptionError(path, SNAPSHOT_HEADER_FIXED_BYTES, 'snapshot metadata checksum mismatch');
  }
  const meta = parseMeta(metaJson, path);
  const trailerOffset = fileBytes - SNAPSHOT_TRAILER_BYTES;
  const trailer = Buffer.alloc(SNAPSHOT_TRAILER_BYTES);
  await handle.read(trailer, trailerOffset);
  if (crc32c(trailer.subarray(0, 12)) !== trailer.readUInt32LE(12)) {
    throw new StorageCorruptionError(path, trailerOffset, 'snapshot trailer checksum mismatch (incomplete or damaged file)');
  }
  const dataBytes = readU64(trailer, 0);
  if (dataBytes !== trailerOffset - dataOffset) {
    throw new StorageCorruptionError(path, trailerOffset, `snapshot trailer says ${dataBytes} data bytes, the file holds ${trailerOffset - dataOffset}`);
  }
  return { meta, dataOffset, dataBytes, dataCrc: trailer.readUInt32LE(8) };
}

function parseMeta(json: Buffer, path: string): SnapshotMeta {
  let value: unknown;
  try {
    value = JSON.parse(json.toString('utf8'));
  } catch {
    throw new StorageCorruptionError(path, SNAPSHOT_HEADER_FIXED_BYTES, 'snapshot metadata is not JSON');
  }
  const meta = value as { index?: unknown; term?: unknown; config?: { voters?: unknown } };
  const voters = meta?.config?.voters;
  if (
    !Number.isSafeInteger(meta?.index) ||
    !Number.isSafeInteger(meta?.term) ||
    !Array.isArray(voters) ||
    !voters.every((voter) => typeof voter === 'string')
  ) {
    throw new StorageCorruptionError(path, SNAPSHOT_HEADER_FIXED_BYTES, 'snapshot metadata lacks index, term or voters');
  }
  return { index: meta.index as number, term: meta.term as number, config: { voters: voters as string[] } };
}

/**
 * Streams the data of a snapshot file in chunks (fresh buffers: the consumer may keep them),
 * and throws at the end if the data does not match its checksum.
 */
export async function* readSnapshotData(
  handle: FileHandle,
  path: string,
  layout: SnapshotLayout,
  chunkBytes: number,
): AsyncGenerator<Uint8Array> {
  let crc = 0;
  const end = layout.dataOffset + layout.dataBytes;
  for (let position = layout.dataOffset; position < end; ) {
    const chunk = Buffer.allocUnsafe(Math.min(chunkBytes, end - position));
    const bytes = await handle.read(chunk, position);
    if (bytes < chunk.length) throw new StorageCorruptionError(path, position + bytes, 'snapshot data ends early');
    crc = crc32c(chunk, crc);
    position += bytes;
    // The checksum covers the whole: a consumer trusts nothing until the iteration ends cleanly.
    yield chunk;
  }
  if (crc >>> 0 !== layout.dataCrc >>> 0) {
    throw new StorageCorruptionError(path, layout.dataOffset, 'snapshot data checksum mismatch');
  }
}
