import type { KvOp, KvResult } from './kv-model.js';

/**
 * One client operation as the checkers see it: from the client's first attempt to the answer
 * it finally got (retries with the same clientId+seq are the same operation).
 *
 * `invokeAt`/`completeAt` are positions in one global event order (a counter the recorder bumps
 * at every invoke and completion), so "A completed before B was invoked" is exact even within a
 * tick; the ticks are kept for humans reading a failure. A tick is the recorder's unit of time:
 * a simulated tick in the simulator, a millisecond since the start in the chaos run.
 */
export interface HistoryOp {
  readonly id: number;
  readonly clientId: string;
  readonly seq: number;
  readonly op: KvOp;
  readonly invokeAt: number;
  readonly invokeTick: number;
  /** Absent: the outcome is unknown (the op may or may not have taken effect). */
  readonly completeAt?: number;
  readonly completeTick?: number;
  readonly result?: KvResult;
}

/** Records a history; hands out the global event order. */
export class HistoryRecorder {
  private readonly ops: HistoryOp[] = [];
  private readonly open = new Map<number, HistoryOp>();
  private nextEventAt = 0;

  invoke(clientId: string, seq: number, op: KvOp, tick: number): number {
    const id = this.ops.length;
    const record: HistoryOp = { id, clientId, seq, op, invokeAt: this.nextEventAt++, invokeTick: tick };
    this.ops.push(record);
    this.open.set(id, record);
    return id;
  }

  complete(id: number, result: KvResult, tick: number): void {
    const record = this.open.get(id);
    if (record === undefined) throw new Error(`history: op ${id} is not open`);
    this.open.delete(id);
    this.ops[id] = { ...record, completeAt: this.nextEventAt++, completeTick: tick, result };
  }

  pendingCount(): number {
    return this.open.size;
  }

  history(): readonly HistoryOp[] {
    return this.ops;
  }
}

export function describeOp(op: HistoryOp): string {
  const input = JSON.stringify(op.op);
  const output = op.result === undefined ? 'unknown' : JSON.stringify(op.result);
  const span = `[${op.invokeTick}..${op.completeTick ?? '?'}]`;
  return `${op.clientId}#${op.seq} ${input} -> ${output} ticks ${span}`;
}
