import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import type { SnapshotMeta } from '../consensus/core/messages.js';
import type { FileHandle, FileSystem } from './fs/file-system.js';
import {
  encodeSnapshotHeader,
  encodeSnapshotTrailer,
  parseSnapshotFileName,
  readSnapshotData,
  readSnapshotLayout,
  snapshotFileName,
  type SnapshotLayout,
} from './snapshot-format.js';
import { describeError, StorageCorruptionError, StorageFailedError } from './storage-errors.js';
import { consoleStorageLogger, type StorageLogger } from './storage-logger.js';

export interface SnapshotStoreOptions {
  readonly fsync?: boolean;
  readonly logger?: StorageLogger;
  /** How many of the newest snapshots to keep. Default 2 (SPEC 5). */
  readonly retain?: number;
  /** Chunk size of openRead. Default 1 MiB. */
  readonly chunkBytes?: number;
  /**
   * While a snapshot is written, fdatasync after every this many bytes (when fsync is on), so
   * the page cache flushes it bit by bit rather than all at commit: one fsync of a 100+ MiB file
   * stalls the WAL's own fdatasyncs on the same disk for as long as it takes. Default 16 MiB.
   */
  readonly syncEveryBytes?: number;
}

export interface SnapshotInfo {
  readonly meta: SnapshotMeta;
  readonly path: string;
  /** Bytes of state-machine data (without header and trailer). */
  readonly dataBytes: number;
}

/** A snapshot being written: chunks stream to a temp file that becomes visible only on commit. */
export interface SnapshotWriter {
  readonly meta: SnapshotMeta;
  /**
   * Appends a chunk; chunks are written in call order. The chunk is not copied: the caller leaves
   * it unchanged until the returned promise resolves (then it may reuse the buffer).
   */
  write(chunk: Uint8Array): Promise<void>;
  /** Trailer, fsync, rename into place, fsync the directory; then older snapshots are pruned. */
  commit(): Promise<SnapshotInfo>;
  /** Drops the temp file. */
  abort(): Promise<void>;
}

const TMP_SUFFIX = '.tmp';
const CORRUPT_SUFFIX = '.corrupt';

/**
 * `snapshots/<term>-<index>.snap`, each with a checksummed header, data and trailer, written
 * tmp -> fsync -> rename -> fsync dir. Reads and writes stream in chunks: a snapshot of hundreds
 * of MB never needs a second copy in memory. At open the newest snapshot that verifies is the
 * latest; a damaged one is renamed `.corrupt` (kept for inspection) and reported.
 */
export class SnapshotStore {
  /** Newest first: by index, then term. */
  private snapshots: SnapshotInfo[];
  private readonly fsync: boolean;
  private readonly retain: number;
  private readonly chunkBytes: number;
  /** @internal Read by the writer; Infinity when fsync is off. */
  readonly syncEveryBytes: number;
  private commits: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly fs: FileSystem,
    readonly dir: string,
    snapshots: SnapshotInfo[],
    options: SnapshotStoreOptions,
  ) {
    this.snapshots = snapshots;
    this.fsync = options.fsync ?? true;
    this.retain = options.retain ?? 2;
    this.chunkBytes = options.chunkBytes ?? 1024 * 1024;
    this.syncEveryBytes = this.fsync ? (options.syncEveryBytes ?? 16 * 1024 * 1024) : Number.POSITIVE_INFINITY;
    if (!(this.syncEveryBytes > 0)) throw new RangeError(`syncEveryBytes must be > 0, got ${this.syncEveryBytes}`);
    if (!Number.isSafeInteger(this.retain) || this.retain < 1) throw new RangeError(`retain must be >= 1, got ${this.retain}`);
  }

  static async open(fs: FileSystem, dir: string, options: SnapshotStoreOptions = {}): Promise<SnapshotStore> {
    const logger = options.logger ?? consoleStorageLogger;
    await fs.mkdir(dir);
    const found: { term: number; index: number; path: string }[] = [];
    for (const name of await fs.readdir(dir)) {
      const path = join(dir, name);
      if (name.endsWith(TMP_SUFFIX)) {
        // An interrupted write: never renamed into place, so never relied on.
        await fs.unlink(path);
        continue;
      }
      const parsed = parseSnapshotFileName(name);
      if (parsed) found.push({ ...parsed, path });
      else if (!name.endsWith(CORRUPT_SUFFIX)) logger.warn(`snapshots: ignoring unexpected file ${path}`);
    }
    found.sort((a, b) => b.index - a.index || b.term - a.term);

    // The newest is verified end to end (it is what the node restores); older ones by header and
    // trailer, and again in full whenever they are read.
    const snapshots: SnapshotInfo[] = [];
    for (const candidate of found) {
      try {
        const layout = await inspect(fs, candidate.path, snapshots.length === 0);
        if (layout.meta.index !== candidate.index || layout.meta.term !== candidate.term) {
          throw new StorageCorruptionError(candidate.path, 0, `metadata says term ${layout.meta.term} index ${layout.meta.index}, unlike its name`);
        }
        snapshots.push({ meta: layout.meta, path: candidate.path, dataBytes: layout.dataBytes });
      } catch (error) {
        if (!(error instanceof StorageCorruptionError)) throw error;
        await fs.rename(candidate.path, candidate.path + CORRUPT_SUFFIX);
        logger.warn(`snapshots: skipping damaged snapshot: ${error.message}; renamed it to ${candidate.path + CORRUPT_SUFFIX}`);
      }
    }
    if (options.fsync ?? true) await fs.syncDir(dir);
    return new SnapshotStore(fs, dir, snapshots, options);
  }

  /** The newest snapshot, or null. */
  latest(): SnapshotInfo | null {
    return this.snapshots[0] ?? null;
  }

  /** Newest first. */
  list(): readonly SnapshotInfo[] {
    return this.snapshots;
  }

  find(meta: Pick<SnapshotMeta, 'index' | 'term'>): SnapshotInfo | null {
    return this.snapshots.find((s) => s.meta.index === meta.index && s.meta.term === meta.term) ?? null;
  }

  async beginWrite(meta: SnapshotMeta): Promise<SnapshotWriter> {
    const finalPath = join(this.dir, snapshotFileName(meta));
    const tmpPath = finalPath + TMP_SUFFIX;
    const handle = await this.fs.open(tmpPath, 'write');
    try {
      await handle.truncate(0);
      const header = encodeSnapshotHeader(meta);
      await handle.write(header, 0);
      return new FileSnapshotWriter(this, handle, meta, tmpPath, finalPath, header.length);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** The data of a stored snapshot in chunks; throws at the end if it fails its checksum. */
  async *openRead(meta: Pick<SnapshotMeta, 'index' | 'term'>, chunkBytes = this.chunkBytes): AsyncGenerator<Uint8Array> {
    const info = this.find(meta);
    if (!info) throw new Error(`no snapshot at term ${meta.term} index ${meta.index}`);
    const handle = await this.fs.open(info.path, 'read');
    try {
      const layout = await readSnapshotLayout(handle, info.path);
      yield* readSnapshotData(handle, info.path, layout, chunkBytes);
    } finally {
      await handle.close();
    }
  }

  /** For small snapshots: the whole data in one buffer. */
  async readAll(meta: Pick<SnapshotMeta, 'index' | 'term'>): Promise<Uint8Array> {
    const info = this.find(meta);
    if (!info) throw new Error(`no snapshot at term ${meta.term} index ${meta.index}`);
    const data = Buffer.allocUnsafe(info.dataBytes);
    let at = 0;
    for await (const chunk of this.openRead(meta)) {
      data.set(chunk, at);
      at += chunk.length;
    }
    return data;
  }

  /** @internal Used by the writer: rename into place, then prune. Commits run one at a time. */
  publish(handle: FileHandle, tmpPath: string, finalPath: string, info: SnapshotInfo, trailer: Buffer, at: number): Promise<SnapshotInfo> {
    const run = this.commits.then(async () => {
      try {
        await handle.write(trailer, at);
        if (this.fsync) await handle.sync();
      } finally {
        await handle.close();
      }
      await this.fs.rename(tmpPath, finalPath);
      if (this.fsync) await this.fs.syncDir(this.dir);
      this.snapshots = [info, ...this.snapshots.filter((s) => s.path !== finalPath)].sort(
        (a, b) => b.meta.index - a.meta.index || b.meta.term - a.meta.term,
      );
      await this.prune();
      return info;
    });
    this.commits = run.catch(() => undefined);
    return run;
  }

  /** @internal */
  async discard(handle: FileHandle, tmpPath: string): Promise<void> {
    await handle.close();
    if (await this.fs.stat(tmpPath)) await this.fs.unlink(tmpPath);
  }

  private async prune(): Promise<void> {
    const doomed = this.snapshots.slice(this.retain);
    if (doomed.length === 0) return;
    this.snapshots = this.snapshots.slice(0, this.retain);
    for (const snapshot of doomed) await this.fs.unlink(snapshot.path);
    if (this.fsync) await this.fs.syncDir(this.dir);
  }
}

class FileSnapshotWriter implements SnapshotWriter {
  private dataBytes = 0;
  private unsyncedBytes = 0;
  private crc = 0;
  private tail: Promise<void> = Promise.resolve();
  private finished = false;
  private failure: StorageFailedError | null = null;

  constructor(
    private readonly store: SnapshotStore,
    private readonly handle: FileHandle,
    readonly meta: SnapshotMeta,
    private readonly tmpPath: string,
    private readonly finalPath: string,
    private readonly dataOffset: number,
  ) {}

  write(chunk: Uint8Array): Promise<void> {
    if (this.finished) return Promise.reject(new Error(`snapshot ${this.finalPath}: write after commit or abort`));
    // No copy: the caller keeps the chunk unchanged until this resolves (see SnapshotWriter.write).
    const run = this.tail.then(async () => {
      if (this.failure) throw this.failure;
      try {
        await this.handle.write(chunk, this.dataOffset + this.dataBytes);
        this.crc = crc32c(chunk, this.crc);
        this.dataBytes += chunk.length;
        this.unsyncedBytes += chunk.length;
        // Flush as it goes (see SnapshotStoreOptions.syncEveryBytes); durability still rests on commit's fsync.
        if (this.unsyncedBytes >= this.store.syncEveryBytes) {
          this.unsyncedBytes = 0;
          await this.handle.datasync();
        }
      } catch (error) {
        this.failure = new StorageFailedError(`writing ${this.tmpPath} failed: ${describeError(error)}`, { cause: error });
        throw this.failure;
      }
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  async commit(): Promise<SnapshotInfo> {
    if (this.finished) throw new Error(`snapshot ${this.finalPath}: already finished`);
    this.finished = true;
    await this.tail;
    if (this.failure) {
      await this.store.discard(this.handle, this.tmpPath);
      throw this.failure;
    }
    const info: SnapshotInfo = { meta: this.meta, path: this.finalPath, dataBytes: this.dataBytes };
    try {
      return await this.store.publish(
        this.handle,
        this.tmpPath,
        this.finalPath,
        info,
        encodeSnapshotTrailer(this.dataBytes, this.crc),
        this.dataOffset + this.dataBytes,
      );
    } catch (error) {
      throw new StorageFailedError(`committing snapshot ${this.finalPath} failed: ${describeError(error)}`, { cause: error });
    }
  }

  async abort(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.tail;
    await this.store.discard(this.handle, this.tmpPath);
  }
}

/** Header and trailer always; the data checksum too when `full`. */
async function inspect(fs: FileSystem, path: string, full: boolean): Promise<SnapshotLayout> {
  const handle = await fs.open(path, 'read');
  try {
    const layout = await readSnapshotLayout(handle, path);
    if (full) {
      for await (const _chunk of readSnapshotData(handle, path, layout, 4 * 1024 * 1024)) {
        // Reading is the check: readSnapshotData throws on a checksum mismatch.
      }
    }
    return layout;
  } finally {
    await handle.close();
  }
}
