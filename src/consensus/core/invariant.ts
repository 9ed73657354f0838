/**
 * A broken invariant of the Raft core. The core never throws for an expected outcome (a refused
 * proposal, a stale message): it throws this only when continuing would risk safety, so the host
 * crashes and recovers from disk instead of limping on (STYLE habit 6).
 */
export class RaftInvariantError extends Error {
  constructor(message: string) {
    super(`raft invariant broken: ${message}`);
    this.name = 'RaftInvariantError';
  }
}

export function invariant(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new RaftInvariantError(message());
}
