/**
 * Damage the storage layer refuses to repair on its own: the node must not start, and the
 * message names the file and the byte offset so an operator can look.
 */
export class StorageCorruptionError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`${file} is damaged at byte offset ${offset}: ${reason}`);
    this.name = 'StorageCorruptionError';
  }
}

/**
 * A write or sync on the durability path failed. The store that threw it accepts no more
 * writes: the caller must treat it as fatal (crash and recover from disk), never retry.
 */
export class StorageFailedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageFailedError';
  }
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
