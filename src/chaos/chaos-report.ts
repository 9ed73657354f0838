/**
 * What a chaos run leaves behind, in its output dir:
 *  - history.jsonl: one line per op (client, seq, op, invoke and return ms since the start,
 *    result or unknown/failed, and every HTTP attempt: node asked, status, node that answered);
 *  - report.json: the ChaosReport below;
 *  - report.txt: the same for a human, ending with the verdict and the replay command.
 */
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatTable } from '../cli/format.js';
import type { HistoryOp } from '../history-checks/history.js';
import type { FaultRecord } from './faults.js';
import type { Check } from './verdict.js';
import type { OpNotes } from './workload.js';

export interface OpKindCounts {
  invoked: number;
  acked: number;
  unknown: number;
  failed: number;
}

export interface ChaosReport {
  readonly seed: number;
  readonly replay: string;
  readonly nodes: number;
  readonly seconds: number;
  readonly faultKinds: readonly string[];
  readonly clients: number;
  readonly keys: number;
  readonly outDir: string;
  readonly ops: OpKindCounts & {
    /** Ops sent more than once (a write: with the same clientId+seq, to another node). */
    readonly retried: number;
    readonly byKind: Readonly<Record<string, OpKindCounts>>;
  };
  readonly faults: readonly FaultRecord[];
  readonly faultsByKind: Readonly<Record<string, number>>;
  readonly recovery: {
    /** From the final heal to a leader every node agrees on. */
    readonly healToLeaderMs: number | null;
    /** From the final heal to every node having applied the leader's commit index. */
    readonly healToAllAppliedMs: number | null;
    /** The longest, over faults, of the time from a fault to the next acknowledged write. */
    readonly faultToAckMaxMs: number | null;
    readonly faultToAckMedianMs: number | null;
    /** Faults after which no write sent was ever acknowledged before the run ended. */
    readonly faultsWithoutAck: number;
  };
  readonly commitIndex: number | null;
  readonly linearizability: { readonly keys: number; readonly steps: number; readonly violations: number; readonly inconclusive: number; readonly checkMs: number };
  readonly checks: readonly Check[];
  readonly problems: readonly string[];
  readonly verdict: 'PASS' | 'FAIL';
  readonly elapsedMs: number;
}

export function countOps(history: readonly HistoryOp[], notes: ReadonlyMap<number, OpNotes>): ChaosReport['ops'] {
  const total: OpKindCounts = { invoked: 0, acked: 0, unknown: 0, failed: 0 };
  const byKind: Record<string, OpKindCounts> = {};
  let retried = 0;
  for (const op of history) {
    if ((notes.get(op.id)?.attempts.length ?? 0) > 1) retried++;
    const kind = (byKind[op.op.kind] ??= { invoked: 0, acked: 0, unknown: 0, failed: 0 });
    const outcome = op.result !== undefined ? 'acked' : notes.get(op.id)?.outcome === 'failed' ? 'failed' : 'unknown';
    for (const counts of [total, kind]) {
      counts.invoked++;
      counts[outcome]++;
    }
  }
  return { ...total, retried, byKind };
}

/** For each fault: from its start to the ack of the first write invoked after it. */
export function measureRecovery(faults: readonly FaultRecord[], history: readonly HistoryOp[]): void {
  const writes = history.filter((op) => op.op.kind !== 'get' && op.completeTick !== undefined && op.result?.kind !== 'stale_sequence');
  for (const fault of faults) {
    let first: number | null = null;
    for (const op of writes) {
      if (op.invokeTick >= fault.startMs && (first === null || op.completeTick! < first)) first = op.completeTick!;
    }
    fault.recoveryMs = first === null ? null : first - fault.startMs;
  }
}

/** One op of the history as a line of history.jsonl. */
function historyLine(op: HistoryOp, note: OpNotes | undefined): string {
  return JSON.stringify({
    id: op.id,
    client: op.clientId,
    seq: op.seq,
    op: op.op,
    invokeMs: op.invokeTick,
    completeMs: op.completeTick ?? null,
    outcome: note?.outcome ?? (op.result === undefined ? 'unknown' : 'ok'),
    result: op.result ?? null,
    ...(note?.error === undefined ? {} : { error: note.error }),
    attempts: note?.attempts ?? [],
  });
}

/** Lines written per write call: a long run's whole history is larger than a string may be. */
const HISTORY_LINES_PER_WRITE = 1000;

async function writeHistory(path: string, history: readonly HistoryOp[], notes: ReadonlyMap<number, OpNotes>): Promise<void> {
  const file = await open(path, 'w');
  try {
    for (let from = 0; from < history.length; from += HISTORY_LINES_PER_WRITE) {
      const lines = history.slice(from, from + HISTORY_LINES_PER_WRITE).map((op) => historyLine(op, notes.get(op.id)));
      await file.write(`${lines.join('\n')}\n`);
    }
  } finally {
    await file.close();
  }
}

export async function writeChaosFiles(report: ChaosReport, history: readonly HistoryOp[], notes: ReadonlyMap<number, OpNotes>): Promise<void> {
  await mkdir(report.outDir, { recursive: true });
  await writeHistory(join(report.outDir, 'history.jsonl'), history, notes);
  await writeFile(join(report.outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(report.outDir, 'report.txt'), formatChaosReport(report));
}

function ms(value: number | null): string {
  return value === null ? '-' : `${Math.round(value)} ms`;
}

export function formatChaosReport(report: ChaosReport): string {
  const kinds = Object.keys(report.ops.byKind).sort();
  const opsTable = formatTable(
    ['OP', 'INVOKED', 'ACKED', 'UNKNOWN', 'FAILED'],
    [...kinds.map((k): [string, OpKindCounts] => [k, report.ops.byKind[k]!]), ['all', report.ops] as [string, OpKindCounts]].map(([k, c]) => [k, String(c.invoked), String(c.acked), String(c.unknown), String(c.failed)]),
  );
  const faultsTable = formatTable(
    ['FAULT', 'NODES', 'LEADER', 'START', 'DURATION', 'UNDONE', 'BACK', 'TO NEXT ACK'],
    report.faults.map((f) => [
      f.kind,
      f.nodes.join('+'),
      f.leaderTargeted ? 'yes' : 'no',
      ms(f.startMs),
      ms(f.durationMs),
      f.endMs === null ? '-' : ms(f.endMs),
      f.backMs === null ? '-' : ms(f.backMs),
      ms(f.recoveryMs),
    ]),
  );
  const checks = formatTable(['CHECK', 'RESULT', 'DETAIL'], report.checks.map((c) => [c.name, c.ok ? 'ok' : 'FAILED', c.detail]));
  const r = report.recovery;
  const lines = [
    `chaos seed ${report.seed}: ${report.nodes} nodes, ${report.seconds} s, faults ${report.faultKinds.join(',') || 'none'}, ${report.clients} clients, ${report.keys} keys; ${(report.elapsedMs / 1000).toFixed(1)} s in all`,
    '',
    opsTable,
    `ops sent more than once (writes with the same clientId+seq): ${report.ops.retried}`,
    '',
    `faults injected: ${report.faults.length} (${Object.entries(report.faultsByKind).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'})`,
    ...(report.faults.length > 0 ? [faultsTable] : []),
    '',
    `recovery: fault to next acknowledged write max ${ms(r.faultToAckMaxMs)}, median ${ms(r.faultToAckMedianMs)}, ${r.faultsWithoutAck} faults without one; final heal to leader ${ms(r.healToLeaderMs)}, to all applied ${ms(r.healToAllAppliedMs)} (commit index ${report.commitIndex ?? '-'})`,
    `linearizability search: ${report.linearizability.keys} keys, ${report.linearizability.steps} steps, ${report.linearizability.checkMs} ms`,
    '',
    checks,
    '',
  ];
  if (report.problems.length > 0) lines.push('problems:', ...report.problems.map((p) => `  ${p.replace(/\n/g, '\n  ')}`), '');
  lines.push(`verdict: ${report.verdict} (seed ${report.seed})`, `files: ${report.outDir}`, `replay: ${report.replay}`);
  return `${lines.join('\n')}\n`;
}
