import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import lockfile from 'proper-lockfile';

export interface DataDirLockOptions {
  /**
   * A lock whose holder has not refreshed it for this long is stale and may be taken over
   * (proper-lockfile's `stale`, at least 2000). The holder refreshes it every staleMs / 5.
   * Default 5000.
   */
  readonly staleMs?: number;
  /**
   * Called if the lock is lost while held (its directory vanished, or it was not refreshed in
   * time, so another process may own the data now). The default throws, which ends the process:
   * writing on would risk two writers.
   */
  readonly onCompromised?: (error: Error) => void;
}

export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

/** The data directory is in use by another live process. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly holder: LockHolder | null,
  ) {
    const who = holder ? `process ${holder.pid} on host ${holder.host} (since ${holder.since})` : 'another process';
    super(`data directory ${dir} is locked by ${who}; stop that node or choose another --data-dir`);
    this.name = 'DataDirLockedError';
  }
}

const LOCK_NAME = 'LOCK';
/** Beside the lock directory (which proper-lockfile removes with rmdir, so it must stay empty). */
const HOLDER_NAME = 'LOCK.holder';

/**
 * Exclusive use of a data directory across processes: proper-lockfile's `LOCK` directory, kept
 * fresh while held. A second process fails at once with a message naming the holder. A lock
 * left by a killed process on this host is taken over once proper-lockfile deems it stale.
 */
export class DataDirLock {
  private released = false;

  private constructor(
    readonly dir: string,
    private readonly releaseLock: () => Promise<void>,
  ) {}

  static async acquire(dataDir: string, options: DataDirLockOptions = {}): Promise<DataDirLock> {
    const dir = resolve(dataDir);
    const staleMs = Math.max(2000, options.staleMs ?? 5000);
    await mkdir(dir, { recursive: true });
    const lockOptions = {
      lockfilePath: join(dir, LOCK_NAME),
      realpath: false,
      stale: staleMs,
      update: Math.max(1000, Math.floor(staleMs / 5)),
      onCompromised:
        options.onCompromised ??
        ((error: Error) => {
          throw new Error(`lost the lock on data directory ${dir}: ${error.message}`);
        }),
    };
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(dir, lockOptions);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
      const holder = await readHolder(dir);
      // A live holder (or one on another host, which we cannot probe) keeps the directory.
      if (holder && (holder.host !== hostname() || isProcessAlive(holder.pid))) throw new DataDirLockedError(dir, holder);
      // The holder died without releasing (or before naming itself): its lock stops being
      // refreshed and goes stale within staleMs. Wait for that rather than breaking it ourselves.
      const intervalMs = 250;
      try {
        release = await lockfile.lock(dir, {
          ...lockOptions,
          retries: { retries: Math.ceil(staleMs / intervalMs) + 8, factor: 1, minTimeout: intervalMs, maxTimeout: intervalMs },
        });
      } catch (retryError) {
        if ((retryError as NodeJS.ErrnoException).code !== 'ELOCKED') throw retryError;
        throw new DataDirLockedError(dir, await readHolder(dir));
      }
    }
    await writeHolder(dir);
    return new DataDirLock(dir, release);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await unlink(join(this.dir, HOLDER_NAME)).catch(() => undefined);
    await this.releaseLock();
  }
}

async function writeHolder(dir: string): Promise<void> {
  const holder: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const tmp = join(dir, `${HOLDER_NAME}.${process.pid}.tmp`);
  // Informational only (the lock itself is the LOCK directory): no fsync needed.
  await writeFile(tmp, JSON.stringify(holder));
  await rename(tmp, join(dir, HOLDER_NAME));
}

async function readHolder(dir: string): Promise<LockHolder | null> {
  try {
    const value = JSON.parse(await readFile(join(dir, HOLDER_NAME), 'utf8')) as Partial<LockHolder>;
    if (typeof value.pid === 'number' && typeof value.host === 'string') {
      return { pid: value.pid, host: value.host, since: String(value.since ?? 'unknown') };
    }
  } catch {
    // Missing or half-written: the holder is just acquiring, or crashed before writing it.
  }
  return null;
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
