/**
 * The only door from the storage layer to a disk. Everything under src/storage reaches files
 * through this port, so the same code runs on the real disk (NodeFileSystem) and on a simulated
 * disk that loses unsynced writes at a crash. Keep it small: every method here is one a
 * simulated disk must model faithfully.
 *
 * Durability contract (what a simulated disk must honour):
 *  - `write` data is volatile until `datasync`/`sync` on the same handle resolves.
 *  - `datasync` also makes the file's size durable (what is needed to read the data back).
 *  - On a handle opened `'write-durable'` (O_DSYNC), each `write` is durable when it resolves:
 *    its bytes and the file size, as a `datasync` right after it would make them. Nothing more
 *    is promised: a `truncate`, or a write through another handle, still needs a sync. A write
 *    that rejects (EIO, or cut by a crash) may have left its bytes volatile or torn.
 *  - Creating, renaming or unlinking a directory entry is volatile until `syncDir` on the
 *    parent directory resolves.
 *  - A file that is unlinked while a handle is open stays readable through that handle.
 */

export interface FileStat {
  readonly size: number;
  readonly isDirectory: boolean;
}

/**
 * `read`: the file must exist. `write`: read and write, created if missing, never truncated.
 * `write-durable`: like `write`, and every `write` on the handle is durable when it resolves
 * (one call instead of write + datasync: one I/O round trip fewer on the commit path).
 */
export type OpenMode = 'read' | 'write' | 'write-durable';

export interface FileHandle {
  /**
   * Writes all of `data` at byte `position` (no append mode: callers always know the offset).
   * On a `'write-durable'` handle, the bytes and the file size are durable when this resolves.
   */
  write(data: Uint8Array, position: number): Promise<void>;
  /** Reads up to `into.length` bytes at `position`; returns how many were read (short at EOF). */
  read(into: Uint8Array, position: number): Promise<number>;
  /** fdatasync: the data written so far, and the size, are durable when this resolves. */
  datasync(): Promise<void>;
  /** fsync: like datasync, plus all other metadata. */
  sync(): Promise<void>;
  truncate(size: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

export abstract class FileSystem {
  abstract open(path: string, mode: OpenMode): Promise<FileHandle>;
  /** Atomically replaces `to` if it exists. */
  abstract rename(from: string, to: string): Promise<void>;
  abstract unlink(path: string): Promise<void>;
  /** Names (not paths) of the entries of a directory. */
  abstract readdir(path: string): Promise<string[]>;
  /** Creates the directory and any missing parents; no error if it exists. */
  abstract mkdir(path: string): Promise<void>;
  /** null when nothing exists at `path`. */
  abstract stat(path: string): Promise<FileStat | null>;
  /** fsync of a directory: makes creations, renames and unlinks inside it durable. */
  abstract syncDir(path: string): Promise<void>;
}
