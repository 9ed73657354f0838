import type { FileHandle, FileStat, OpenMode } from '../../../src/storage/fs/file-system.js';
import { FileSystem } from '../../../src/storage/fs/file-system.js';
import { NodeFileSystem } from '../../../src/storage/fs/node-file-system.js';

export type FsEvent =
  | { op: 'open'; path: string; mode: OpenMode }
  /** `durable`: through a 'write-durable' handle, so durable when it resolves. */
  | { op: 'write'; path: string; position: number; bytes: number; durable: boolean }
  | { op: 'datasync' | 'sync' | 'close'; path: string }
  | { op: 'truncate'; path: string; size: number }
  | { op: 'rename'; path: string; to: string }
  | { op: 'unlink' | 'mkdir' | 'syncDir'; path: string };

/**
 * The real disk, with every call recorded and two extras for tests: `fault` can make a call fail,
 * and `durableBytes(path)` says how much of a file a completed fdatasync/fsync covers (the bytes
 * written before the sync started) or a durable write extends contiguously.
 */
export class RecordingFileSystem extends FileSystem {
  readonly events: FsEvent[] = [];
  fault: ((event: FsEvent) => Error | null) | null = null;
  private readonly writtenEnd = new Map<string, number>();
  private readonly syncedEnd = new Map<string, number>();

  constructor(private readonly inner: FileSystem = new NodeFileSystem()) {
    super();
  }

  count(op: FsEvent['op']): number {
    return this.events.filter((e) => e.op === op).length;
  }

  /** Points where data became durable: datasyncs, syncs and writes through 'write-durable' handles. */
  countSyncPoints(): number {
    return this.events.filter((e) => e.op === 'datasync' || e.op === 'sync' || (e.op === 'write' && e.durable)).length;
  }

  durableBytes(path: string): number {
    return this.syncedEnd.get(path) ?? 0;
  }

  /** Records the event and throws the injected fault, if any. */
  record(event: FsEvent): void {
    this.events.push(event);
    const error = this.fault?.(event);
    if (error) throw error;
  }

  noteWrite(path: string, end: number): void {
    this.writtenEnd.set(path, Math.max(this.writtenEnd.get(path) ?? 0, end));
  }

  /** Called when a sync starts; returns what it will cover. */
  writtenBytes(path: string): number {
    return this.writtenEnd.get(path) ?? 0;
  }

  noteSynced(path: string, end: number): void {
    this.syncedEnd.set(path, Math.max(this.syncedEnd.get(path) ?? 0, end));
  }

  override async open(path: string, mode: OpenMode): Promise<FileHandle> {
    this.record({ op: 'open', path, mode });
    return new RecordingHandle(this, path, await this.inner.open(path, mode), mode === 'write-durable');
  }

  override async rename(from: string, to: string): Promise<void> {
    this.record({ op: 'rename', path: from, to });
    await this.inner.rename(from, to);
  }

  override async unlink(path: string): Promise<void> {
    this.record({ op: 'unlink', path });
    await this.inner.unlink(path);
  }

  override readdir(path: string): Promise<string[]> {
    return this.inner.readdir(path);
  }

  override async mkdir(path: string): Promise<void> {
    this.record({ op: 'mkdir', path });
    await this.inner.mkdir(path);
  }

  override stat(path: string): Promise<FileStat | null> {
    return this.inner.stat(path);
  }

  override async syncDir(path: string): Promise<void> {
    this.record({ op: 'syncDir', path });
    await this.inner.syncDir(path);
  }
}

class RecordingHandle implements FileHandle {
  constructor(
    private readonly fs: RecordingFileSystem,
    private readonly path: string,
    private readonly inner: FileHandle,
    private readonly durable: boolean,
  ) {}

  async write(data: Uint8Array, position: number): Promise<void> {
    this.fs.record({ op: 'write', path: this.path, position, bytes: data.length, durable: this.durable });
    await this.inner.write(data, position);
    this.fs.noteWrite(this.path, position + data.length);
    // A durable write covers its own bytes only: it extends what is durable when it starts inside it.
    if (this.durable && position <= this.fs.durableBytes(this.path)) this.fs.noteSynced(this.path, position + data.length);
  }

  read(into: Uint8Array, position: number): Promise<number> {
    return this.inner.read(into, position);
  }

  async datasync(): Promise<void> {
    const covered = this.fs.writtenBytes(this.path);
    this.fs.record({ op: 'datasync', path: this.path });
    await this.inner.datasync();
    this.fs.noteSynced(this.path, covered);
  }

  async sync(): Promise<void> {
    const covered = this.fs.writtenBytes(this.path);
    this.fs.record({ op: 'sync', path: this.path });
    await this.inner.sync();
    this.fs.noteSynced(this.path, covered);
  }

  async truncate(size: number): Promise<void> {
    this.fs.record({ op: 'truncate', path: this.path, size });
    await this.inner.truncate(size);
  }

  size(): Promise<number> {
    return this.inner.size();
  }

  async close(): Promise<void> {
    this.fs.record({ op: 'close', path: this.path });
    await this.inner.close();
  }
}
