import type { NodeId } from './core/messages.js';
import { UnavailableError } from './kv-node.port.js';

export interface TransferResult {
  readonly from: NodeId;
  readonly to: NodeId;
}

interface Transfer {
  readonly target: NodeId;
  readonly deadlineMs: number;
  readonly resolve: (result: TransferResult) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Leadership transfers waiting for another node to lead (thesis 3.10): answered once this node
 * follows a known leader, or failed when the transfer does not finish within `timeoutMs` (the
 * core abandons it after an election timeout).
 */
export class PendingTransfers {
  private waiting: Transfer[] = [];

  constructor(private readonly timeoutMs: number) {}

  add(target: NodeId, nowMs: number): Promise<TransferResult> {
    return new Promise((resolve, reject) => this.waiting.push({ target, deadlineMs: nowMs + this.timeoutMs, resolve, reject }));
  }

  /** This node no longer leads and `leaderId` does: every waiting transfer is done. Returns how many. */
  settle(from: NodeId, leaderId: NodeId): number {
    const done = this.waiting;
    this.waiting = [];
    for (const transfer of done) transfer.resolve({ from, to: leaderId });
    return done.length;
  }

  expire(nowMs: number): void {
    if (this.waiting.length === 0) return;
    const still: Transfer[] = [];
    for (const transfer of this.waiting) {
      if (transfer.deadlineMs > nowMs) still.push(transfer);
      else transfer.reject(new UnavailableError('unavailable', `leadership did not move to ${transfer.target} within ${this.timeoutMs} ms`));
    }
    this.waiting = still;
  }

  rejectAll(error: Error): void {
    for (const transfer of this.waiting) transfer.reject(error);
    this.waiting = [];
  }

  get size(): number {
    return this.waiting.length;
  }
}
