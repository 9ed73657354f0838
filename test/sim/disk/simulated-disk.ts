import { basename, dirname } from 'node:path';
import type { Prng } from '../../../src/consensus/core/prng.js';
import { FileSystem, type FileHandle, type FileStat, type OpenMode } from '../../../src/storage/fs/file-system.js';

/**
 * An in-memory disk behind the storage layer's FileSystem port that knows, per file and per
 * directory, what is durable and what is only written (the page cache). Every operation
 * completes as an already-resolved promise, so a simulator that awaits storage calls stays
 * deterministic: nothing here touches a timer or real I/O.
 *
 * Crash models:
 *  - a process crash keeps everything written (the page cache survives the process);
 *  - `powerLoss(random)` keeps only what was synced: of each file's unsynced writes and
 *    truncations a random prefix survives, the next write possibly torn (a cut inside it, after
 *    which the bytes are missing, zeros or garbage); of each directory's unsynced creations,
 *    renames and unlinks a random prefix survives (a journaling file system commits them in order).
 *
 * Injected faults: a read, write or fsync error (EIO), a "power fails after k more mutating
 * operations" trap (every later operation throws until `powerLoss`), and a latent bit flip.
 * Directories themselves are durable as soon as `mkdir` returns (the data dir exists before the node).
 * A write through a 'write-durable' (O_DSYNC) handle is a write then a sync, each a crash point.
 */

export class DiskIoError extends Error {
  constructor(operation: string, path: string) {
    super(`EIO: injected ${operation} error on ${path}`);
    this.name = 'DiskIoError';
  }
}

export class PowerFailedError extends Error {
  constructor(operation: string, path: string) {
    super(`the disk lost power during ${operation} of ${path}`);
    this.name = 'PowerFailedError';
  }
}

type FileOp = { readonly kind: 'write'; readonly position: number; readonly data: Uint8Array } | { readonly kind: 'truncate'; readonly size: number };

class Inode {
  /** What reads see (the page cache). */
  live: Uint8Array = new Uint8Array(0);
  /** What survives a power loss for sure. */
  durable: Uint8Array = new Uint8Array(0);
  /** Operations since the last sync, in order: `durable` + all of them = `live`. */
  pending: FileOp[] = [];

  apply(op: FileOp, into: Uint8Array): Uint8Array {
    if (op.kind === 'truncate') return resize(into, op.size);
    const end = op.position + op.data.length;
    const out = end > into.length ? resize(into, end) : into;
    out.set(op.data, op.position);
    return out;
  }
}

type DirOp = { readonly kind: 'link'; readonly name: string; readonly inode: Inode } | { readonly kind: 'unlink'; readonly name: string };

class Directory {
  readonly live = new Map<string, Inode>();
  durable = new Map<string, Inode>();
  pending: DirOp[] = [];
}

export type DiskFaultKind = 'read' | 'write' | 'fsync';

export interface DiskStats {
  syncs: number;
  dirSyncs: number;
  powerLosses: number;
  tornWrites: number;
  injectedErrors: number;
}

/** Sector size used to place torn writes. */
const SECTOR_BYTES = 512;

export class SimulatedDisk extends FileSystem {
  private readonly dirs = new Map<string, Directory>();
  /** Bumped at each power loss and process restart: handles from before it are dead. */
  private generation = 0;
  /** Mutating operations left before the power fails; null: no trap set. */
  private opsUntilPowerFails: number | null = null;
  private powerFailed = false;
  /** Armed errors: kind -> how many operations of that kind still succeed first. */
  private readonly failNext = new Map<DiskFaultKind, number>();
  /** Counts mutating operations (write, truncate, sync, create, rename, unlink, syncDir): the crash points. */
  mutatingOps = 0;
  readonly stats: DiskStats = { syncs: 0, dirSyncs: 0, powerLosses: 0, tornWrites: 0, injectedErrors: 0 };

  /** After `skip` more operations of this kind succeed, the next one throws an EIO error (once). */
  injectError(kind: DiskFaultKind, skip = 0): void {
    this.failNext.set(kind, skip);
  }

  /** After `ops` more mutating operations succeed, the power fails: every later operation throws. */
  powerFailsAfter(ops: number): void {
    this.opsUntilPowerFails = ops;
  }

  /** Cancels injected errors and a power failure that has not struck yet. */
  disarm(): void {
    this.failNext.clear();
    this.opsUntilPowerFails = null;
  }

  get hasPowerFailed(): boolean {
    return this.powerFailed;
  }

  /** A new process starts on this disk: the old one's handles are closed; what it wrote stays (page cache). */
  processRestarted(): void {
    this.generation++;
  }

  /** Loses everything not synced, as described above; open handles die. */
  powerLoss(random: Prng): void {
    this.stats.powerLosses++;
    this.generation++;
    this.powerFailed = false;
    this.opsUntilPowerFails = null;
    this.failNext.clear();
    const survivors = new Set<Inode>();
    for (const dir of this.sortedDirs()) {
      const keep = random.nextInt(0, dir.pending.length + 1);
      for (const op of dir.pending.slice(0, keep)) applyDirOp(dir.durable, op);
      dir.pending = [];
      dir.live.clear();
      for (const [name, inode] of dir.durable) {
        dir.live.set(name, inode);
        survivors.add(inode);
      }
    }
    for (const inode of survivors) this.settleAfterPowerLoss(inode, random);
  }

  /**
   * Flips one bit of a durable file (and of what reads see): latent media corruption.
   * Returns the byte offset, or null when the file is missing or empty.
   */
  flipBit(path: string, random: Prng): number | null {
    const inode = this.lookup(path);
    if (inode === undefined || inode.durable.length === 0 || inode.live.length === 0) return null;
    const offset = random.nextInt(0, Math.min(inode.durable.length, inode.live.length));
    const bit = 1 << random.nextInt(0, 8);
    inode.durable[offset] ^= bit;
    if (inode.live !== inode.durable) inode.live[offset] ^= bit;
    return offset;
  }

  /** Paths of the files in `dir` (live view), sorted. */
  list(dir: string): string[] {
    return [...(this.dirs.get(dir)?.live.keys() ?? [])].sort().map((name) => `${dir}/${name}`);
  }

  /** A file's content as reads see it (for tests). */
  contentOf(path: string): Uint8Array | undefined {
    return this.lookup(path)?.live;
  }

  // ---- FileSystem ----

  override async open(path: string, mode: OpenMode): Promise<FileHandle> {
    this.checkPower('open', path);
    const dir = this.dirOf(path);
    let inode = dir.live.get(basename(path));
    if (inode === undefined) {
      if (mode === 'read') throw enoent('open', path);
      this.mutating('create', path);
      inode = new Inode();
      dir.live.set(basename(path), inode);
      dir.pending.push({ kind: 'link', name: basename(path), inode });
    }
    return new SimulatedHandle(this, inode, path, this.generation, mode === 'write-durable');
  }

  override async rename(from: string, to: string): Promise<void> {
    this.checkPower('rename', from);
    const fromDir = this.dirOf(from);
    const toDir = this.dirOf(to);
    const inode = fromDir.live.get(basename(from));
    if (inode === undefined) throw enoent('rename', from);
    this.mutating('rename', from);
    // Same-directory renames only in this storage layer: one journal, so the pair is atomic.
    if (fromDir !== toDir) throw new Error(`simulated disk: cross-directory rename ${from} -> ${to}`);
    fromDir.live.delete(basename(from));
    fromDir.live.set(basename(to), inode);
    fromDir.pending.push({ kind: 'unlink', name: basename(from) }, { kind: 'link', name: basename(to), inode });
  }

  override async unlink(path: string): Promise<void> {
    this.checkPower('unlink', path);
    const dir = this.dirOf(path);
    if (!dir.live.has(basename(path))) throw enoent('unlink', path);
    this.mutating('unlink', path);
    dir.live.delete(basename(path));
    dir.pending.push({ kind: 'unlink', name: basename(path) });
  }

  override async readdir(path: string): Promise<string[]> {
    this.checkPower('readdir', path);
    const dir = this.dirs.get(path);
    if (dir === undefined) throw enoent('readdir', path);
    return [...dir.live.keys()].sort();
  }

  override async mkdir(path: string): Promise<void> {
    this.checkPower('mkdir', path);
    for (let at = path; !this.dirs.has(at); at = dirname(at)) {
      this.dirs.set(at, new Directory());
      if (dirname(at) === at) break;
    }
  }

  override async stat(path: string): Promise<FileStat | null> {
    this.checkPower('stat', path);
    if (this.dirs.has(path)) return { size: 0, isDirectory: true };
    const inode = this.dirs.get(dirname(path))?.live.get(basename(path));
    return inode === undefined ? null : { size: inode.live.length, isDirectory: false };
  }

  override async syncDir(path: string): Promise<void> {
    this.checkPower('syncDir', path);
    const dir = this.dirs.get(path);
    if (dir === undefined) throw enoent('syncDir', path);
    this.maybeFail('fsync', path);
    this.mutating('syncDir', path);
    this.stats.dirSyncs++;
    dir.durable = new Map(dir.live);
    dir.pending = [];
  }

  // ---- used by the handles ----

  /** @internal */
  checkPower(operation: string, path: string, generation = this.generation): void {
    if (this.powerFailed) throw new PowerFailedError(operation, path);
    if (generation !== this.generation) throw new Error(`EBADF: ${operation} of ${path} through a handle of a dead process`);
  }

  /** @internal Counts a mutating operation; the power may fail right before it takes effect. */
  mutating(operation: string, path: string): void {
    if (this.opsUntilPowerFails !== null) {
      if (this.opsUntilPowerFails === 0) {
        this.powerFailed = true;
        this.opsUntilPowerFails = null;
        throw new PowerFailedError(operation, path);
      }
      this.opsUntilPowerFails--;
    }
    this.mutatingOps++;
  }

  /** @internal */
  maybeFail(kind: DiskFaultKind, path: string): void {
    const skip = this.failNext.get(kind);
    if (skip === undefined) return;
    if (skip > 0) {
      this.failNext.set(kind, skip - 1);
      return;
    }
    this.failNext.delete(kind);
    this.stats.injectedErrors++;
    throw new DiskIoError(kind, path);
  }

  private settleAfterPowerLoss(inode: Inode, random: Prng): void {
    let image: Uint8Array = inode.durable.slice();
    const keep = random.nextInt(0, inode.pending.length + 1);
    for (const op of inode.pending.slice(0, keep)) image = inode.apply(op, image);
    const torn = inode.pending[keep];
    if (torn?.kind === 'write' && random.chance(0.5)) {
      image = this.tear(image, torn, random);
    }
    inode.live = image;
    inode.durable = image.slice();
    inode.pending = [];
  }

  /** The first `cut` bytes of `op` reached the disk; the rest of that sector holds nothing, zeros or garbage. */
  private tear(image: Uint8Array, op: Extract<FileOp, { kind: 'write' }>, random: Prng): Uint8Array {
    this.stats.tornWrites++;
    const cut = random.nextInt(0, op.data.length);
    const sectorEnd = Math.min(op.data.length, (Math.floor((op.position + cut) / SECTOR_BYTES) + 1) * SECTOR_BYTES - op.position);
    const mode = random.pick(['short', 'zeros', 'garbage'] as const);
    const end = mode === 'short' ? cut : sectorEnd;
    const bytes = new Uint8Array(end);
    bytes.set(op.data.subarray(0, cut));
    if (mode === 'garbage') for (let i = cut; i < end; i++) bytes[i] = random.nextInt(0, 256);
    const out = op.position + end > image.length ? resize(image, op.position + end) : image;
    out.set(bytes, op.position);
    return out;
  }

  private lookup(path: string): Inode | undefined {
    return this.dirs.get(dirname(path))?.live.get(basename(path));
  }

  private dirOf(path: string): Directory {
    const dir = this.dirs.get(dirname(path));
    if (dir === undefined) throw enoent('open', dirname(path));
    return dir;
  }

  private sortedDirs(): Directory[] {
    return [...this.dirs.keys()].sort().map((key) => this.dirs.get(key) as Directory);
  }
}

class SimulatedHandle implements FileHandle {
  private closed = false;

  constructor(
    private readonly disk: SimulatedDisk,
    private readonly inode: Inode,
    private readonly path: string,
    private readonly generation: number,
    /** Opened 'write-durable' (O_DSYNC): every write is a write then a sync. */
    private readonly durableWrites: boolean,
  ) {}

  /**
   * On a durable handle this is two mutating operations, each with its own faults, as an O_DSYNC
   * write is inside the kernel: the power may fail between them (the write stays volatile, and
   * may be torn at `powerLoss`), and an fsync error rejects with the bytes only in the page cache.
   */
  async write(data: Uint8Array, position: number): Promise<void> {
    this.check('write');
    this.disk.maybeFail('write', this.path);
    this.disk.mutating('write', this.path);
    const op: FileOp = { kind: 'write', position, data: data.slice() };
    this.inode.live = this.inode.apply(op, this.inode.live);
    this.inode.pending.push(op);
    if (this.durableWrites) this.syncNow();
  }

  async read(into: Uint8Array, position: number): Promise<number> {
    this.check('read');
    this.disk.maybeFail('read', this.path);
    const available = Math.max(0, Math.min(into.length, this.inode.live.length - position));
    into.set(this.inode.live.subarray(position, position + available));
    return available;
  }

  datasync(): Promise<void> {
    return this.sync();
  }

  async sync(): Promise<void> {
    this.check('sync');
    this.syncNow();
  }

  private syncNow(): void {
    // A failed fsync leaves the writes in the page cache, not durable: the caller must not go on.
    this.disk.maybeFail('fsync', this.path);
    this.disk.mutating('sync', this.path);
    this.disk.stats.syncs++;
    this.inode.durable = this.inode.live.slice();
    this.inode.pending = [];
  }

  async truncate(size: number): Promise<void> {
    this.check('truncate');
    this.disk.mutating('truncate', this.path);
    const op: FileOp = { kind: 'truncate', size };
    this.inode.live = this.inode.apply(op, this.inode.live);
    this.inode.pending.push(op);
  }

  async size(): Promise<number> {
    this.check('size');
    return this.inode.live.length;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private check(operation: string): void {
    if (this.closed) throw new Error(`EBADF: ${operation} of ${this.path} after close`);
    this.disk.checkPower(operation, this.path, this.generation);
  }
}

function applyDirOp(entries: Map<string, Inode>, op: DirOp): void {
  if (op.kind === 'link') entries.set(op.name, op.inode);
  else entries.delete(op.name);
}

function resize(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(bytes.subarray(0, Math.min(size, bytes.length)));
  return out;
}

function enoent(operation: string, path: string): Error {
  return Object.assign(new Error(`ENOENT: ${operation} ${path}`), { code: 'ENOENT' });
}
