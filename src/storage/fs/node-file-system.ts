import { constants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { FileSystem, type FileHandle, type FileStat, type OpenMode } from './file-system.js';

/** FileSystem on the real disk through node:fs/promises. */
export class NodeFileSystem extends FileSystem {
  override async open(path: string, mode: OpenMode): Promise<FileHandle> {
    return new NodeFileHandle(await fsp.open(path, openFlags(mode), 0o644));
  }

  override rename(from: string, to: string): Promise<void> {
    return fsp.rename(from, to);
  }

  override unlink(path: string): Promise<void> {
    return fsp.unlink(path);
  }

  override readdir(path: string): Promise<string[]> {
    return fsp.readdir(path);
  }

  override async mkdir(path: string): Promise<void> {
    await fsp.mkdir(path, { recursive: true });
  }

  override async stat(path: string): Promise<FileStat | null> {
    try {
      const stats = await fsp.stat(path);
      return { size: stats.size, isDirectory: stats.isDirectory() };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  override async syncDir(path: string): Promise<void> {
    const dir = await fsp.open(path, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

function openFlags(mode: OpenMode): number {
  if (mode === 'read') return constants.O_RDONLY;
  const readWrite = constants.O_RDWR | constants.O_CREAT;
  // O_DSYNC: each write(2) returns once its data and the size are on stable storage, as if an
  // fdatasync followed it, in one system call.
  return mode === 'write-durable' ? readWrite | constants.O_DSYNC : readWrite;
}

class NodeFileHandle implements FileHandle {
  constructor(private readonly handle: fsp.FileHandle) {}

  async write(data: Uint8Array, position: number): Promise<void> {
    let written = 0;
    // A positional write may be short (e.g. near a quota): loop until every byte is out.
    while (written < data.length) {
      const { bytesWritten } = await this.handle.write(data, written, data.length - written, position + written);
      if (bytesWritten <= 0) throw new Error('write made no progress');
      written += bytesWritten;
    }
  }

  async read(into: Uint8Array, position: number): Promise<number> {
    let total = 0;
    while (total < into.length) {
      const { bytesRead } = await this.handle.read(into, total, into.length - total, position + total);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    return total;
  }

  datasync(): Promise<void> {
    return this.handle.datasync();
  }

  sync(): Promise<void> {
    return this.handle.sync();
  }

  truncate(size: number): Promise<void> {
    return this.handle.truncate(size);
  }

  async size(): Promise<number> {
    return (await this.handle.stat()).size;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}
