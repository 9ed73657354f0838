/**
 * The chaos run's clients. Each is one KvClient (its own clientId; every write carries the next
 * seq; an attempt that timed out or lost its connection is retried with the SAME clientId+seq
 * on another node until the retry budget runs out), running one op at a time: get
 * (linearizable), put, append, delete or cas on a small key set, drawn from a seeded Prng. Every
 * write's value is a unique token (writeToken), so the final values show which writes took
 * effect and how often.
 *
 * Every op goes into the shared HistoryRecorder, its ticks in ms since the run began:
 *  - answered: completed with the answer;
 *  - a write whose retries ran out after some attempt may have reached a node (a 504, a lost
 *    answer): left open, its outcome unknown (return time +infinity for the checker); the
 *    client goes on with a new seq (KvClient never reuses a seq after a failure);
 *  - a write every node refused (503: SPEC 2 says it was NOT applied), or a read that got no
 *    answer: marked failed and left out of the checked history. If such a write did take
 *    effect after all, its token appears unexplained and the checks say so.
 */
import type { Prng } from '../consensus/core/prng.js';
import { KvClient } from '../client/kv-client.js';
import { KvError } from '../client/kv-error.js';
import type { FetchLike } from '../client/http-attempt.js';
import { writeToken } from '../history-checks/exactly-once.js';
import type { HistoryRecorder } from '../history-checks/history.js';
import type { KvOp, KvResult } from '../history-checks/kv-model.js';

/** One HTTP attempt of an op, for the history file: who was asked, who answered what. */
export interface Attempt {
  /** The node asked (its id), or its url when unknown. */
  readonly to: string;
  /** HTTP status, or null when no answer came. */
  readonly status: number | null;
  /** X-Raft-Node of the answer: the node that produced it (the leader, for a relayed one). */
  readonly answeredBy?: string;
  readonly error?: string;
  /** When the attempt was sent, and when its answer (or failure) came, in ms since the run began. */
  readonly atMs: number;
  readonly endMs: number;
}

export type OpOutcome = 'ok' | 'unknown' | 'failed';

/** What the run knows about each history op beyond the HistoryOp itself. */
export interface OpNotes {
  outcome: OpOutcome;
  readonly attempts: Attempt[];
  /** The final error, for an unknown or failed op. */
  error?: string;
}

export interface WorkloadKeys {
  /** Keys every kind of op hits. */
  readonly mixed: readonly string[];
  /**
   * The append-only keys in force at `elapsedMs`. They are replaced by fresh ones every epoch,
   * so no value (and no state of the linearizability search) grows without bound in a long run.
   */
  appendOnlyAt(elapsedMs: number): readonly string[];
  /** Every append-only key handed out so far. */
  readonly appendOnlyUsed: ReadonlySet<string>;
}

export const KEY_PREFIX = 'chaos/';
const APPEND_ONLY_KEYS_PER_EPOCH = 2;
const APPEND_ONLY_EPOCH_MS = 30_000;

export function chaosKeys(mixedCount: number): WorkloadKeys {
  const used = new Set<string>();
  return {
    mixed: Array.from({ length: mixedCount }, (_, i) => `${KEY_PREFIX}k${i + 1}`),
    appendOnlyAt(elapsedMs: number): readonly string[] {
      const epoch = Math.floor(Math.max(0, elapsedMs) / APPEND_ONLY_EPOCH_MS);
      const keys = Array.from({ length: APPEND_ONLY_KEYS_PER_EPOCH }, (_, i) => `${KEY_PREFIX}log${i + 1}.e${epoch}`);
      for (const key of keys) used.add(key);
      return keys;
    },
    appendOnlyUsed: used,
  };
}

export interface WorkloadOptions {
  readonly endpoints: readonly string[];
  /** url -> node id, to name nodes in the history. */
  readonly nodeIdByUrl: ReadonlyMap<string, string>;
  readonly clients: number;
  readonly keys: WorkloadKeys;
  readonly random: Prng;
  readonly history: HistoryRecorder;
  readonly notes: Map<number, OpNotes>;
  /** ms since the run began. */
  readonly elapsedMs: () => number;
  readonly requestTimeoutMs: number;
  /** Client i gets budget i modulo this list. */
  readonly retryBudgetsMs: readonly number[];
  /** Upper bound of the pause between two ops of one client (a rate, not a synchronisation). */
  readonly thinkMsMax: number;
  /** An answer no correct cluster gives (stale_sequence for our own write, a 400 for a valid request). */
  readonly onProblem: (text: string) => void;
}

export interface WorkloadCounts {
  invoked: number;
  acked: number;
  unknown: number;
  failed: number;
}

export class ChaosClient {
  private readonly kv: KvClient;
  /** Last value this client saw per key: what its compare-and-sets expect. */
  private readonly lastSeen = new Map<string, string | null>();
  private current: OpNotes | null = null;
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    private readonly options: WorkloadOptions,
    private readonly random: Prng,
    private readonly counts: WorkloadCounts,
    endpoints: readonly string[],
    retryBudgetMs: number,
  ) {
    this.kv = new KvClient({
      endpoints,
      clientId: id,
      requestTimeoutMs: options.requestTimeoutMs,
      retryBudgetMs,
      random: () => random.nextFloat(),
      fetch: (input, init) => this.recordingFetch(input, init),
    });
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  /** Lets the op in flight finish (answered or given up), then stops. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    try {
      while (this.running) {
        await this.runOp(this.chooseOp());
        const thinkMs = this.random.nextInt(0, this.options.thinkMsMax + 1);
        if (thinkMs > 0 && this.running) await new Promise((resolve) => setTimeout(resolve, thinkMs));
      }
    } catch (error) {
      // Not an answer from the cluster (KvError is handled per op): a fault of the run itself.
      this.options.onProblem(`${this.id} stopped: ${(error as Error).stack ?? String(error)}`);
    }
  }

  /** The sim's mix (test/sim/clients.ts): half reads, writes of every kind, a quarter on append-only keys. */
  private chooseOp(): KvOp {
    const seq = this.kv.lastSeq + 1;
    const roll = this.random.nextInt(0, 100);
    if (roll < 25) {
      const key = this.random.pick(this.options.keys.appendOnlyAt(this.options.elapsedMs()));
      return roll < 8 ? { kind: 'get', key } : { kind: 'append', key, value: writeToken('append', this.id, seq) };
    }
    const key = this.random.pick(this.options.keys.mixed);
    if (roll < 50) return { kind: 'get', key };
    if (roll < 65) return { kind: 'put', key, value: writeToken('put', this.id, seq) };
    if (roll < 78) return { kind: 'append', key, value: writeToken('append', this.id, seq) };
    if (roll < 85) return { kind: 'delete', key };
    const expected = this.lastSeen.get(key) ?? null;
    return { kind: 'cas', key, expected, value: writeToken('cas', this.id, seq) };
  }

  /** One op, recorded from invoke to answer (or left open when its outcome is unknown). */
  async runOp(op: KvOp): Promise<void> {
    const { history, notes, elapsedMs } = this.options;
    // A write takes the next seq when it is sent (one write at a time: no queue ahead of it).
    const seq = op.kind === 'get' ? this.kv.lastSeq : this.kv.lastSeq + 1;
    const id = history.invoke(this.id, seq, op, Math.round(elapsedMs()));
    const note: OpNotes = { outcome: 'unknown', attempts: [] };
    notes.set(id, note);
    this.current = note;
    this.counts.invoked++;
    try {
      const result = await this.send(op);
      if (op.kind !== 'get' && this.kv.lastSeq !== seq) throw new Error(`${this.id}: sent seq ${this.kv.lastSeq}, recorded ${seq}`);
      history.complete(id, result, Math.round(elapsedMs()));
      note.outcome = 'ok';
      this.counts.acked++;
      this.noteSeen(op, result);
    } catch (error) {
      if (!(error instanceof KvError)) throw error;
      note.error = `${error.status} ${error.error}: ${error.message}`;
      if (error.status === 409 && error.error === 'stale_sequence') {
        // A retry of our own latest write must get its first answer back (SPEC 2): recorded as
        // answered, so the checker (whose model never answers stale_sequence) flags it too.
        history.complete(id, { kind: 'stale_sequence' }, Math.round(elapsedMs()));
        note.outcome = 'ok';
        this.counts.acked++;
        this.options.onProblem(`${this.id}#${seq} ${JSON.stringify(op)}: stale_sequence for its own latest write`);
      } else if (op.kind !== 'get' && (error.outcomeUnknown || !isRefusal(error))) {
        note.outcome = 'unknown';
        this.counts.unknown++;
        if (!isRefusal(error) && !isLostAnswer(error)) this.options.onProblem(`${this.id}#${seq} ${JSON.stringify(op)}: unexpected answer ${note.error}`);
      } else {
        note.outcome = 'failed';
        this.counts.failed++;
        if (!isRefusal(error) && !isLostAnswer(error)) this.options.onProblem(`${this.id}#${seq} ${JSON.stringify(op)}: unexpected answer ${note.error}`);
      }
    } finally {
      this.current = null;
    }
  }

  private async send(op: KvOp): Promise<KvResult> {
    switch (op.kind) {
      case 'get': {
        const answer = await this.kv.get(op.key, { consistency: 'linearizable' });
        return { kind: 'get', value: answer?.value ?? null };
      }
      case 'put':
        return { kind: 'put', value: (await this.kv.put(op.key, op.value)).value };
      case 'append':
        return { kind: 'append', value: (await this.kv.append(op.key, op.value)).value };
      case 'delete':
        return { kind: 'delete', deleted: (await this.kv.delete(op.key)).deleted };
      case 'cas': {
        const answer = await this.kv.cas(op.key, op.expected, op.value);
        return { kind: 'cas', succeeded: answer.succeeded, value: answer.value };
      }
    }
  }

  private noteSeen(op: KvOp, result: KvResult): void {
    if (result.kind === 'delete') this.lastSeen.set(op.key, null);
    else if (result.kind !== 'stale_sequence') this.lastSeen.set(op.key, result.value);
  }

  /** fetch, noting each attempt of the op in flight (one at a time per client). */
  private async recordingFetch(input: Parameters<FetchLike>[0], init?: Parameters<FetchLike>[1]): Promise<Response> {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    // Leader discovery probes (/admin/status) are the client's own business, not attempts of the op.
    const note = url.pathname.startsWith('/kv') ? this.current : null;
    const to = this.options.nodeIdByUrl.get(url.origin) ?? url.origin;
    const atMs = Math.round(this.options.elapsedMs());
    try {
      const response = await fetch(input, init);
      note?.attempts.push({ to, status: response.status, answeredBy: response.headers.get('x-raft-node') ?? undefined, atMs, endMs: Math.round(this.options.elapsedMs()) });
      return response;
    } catch (error) {
      const cause = (error as { cause?: { code?: unknown } }).cause;
      const code = typeof cause?.code === 'string' ? cause.code : (error as Error).name;
      note?.attempts.push({ to, status: null, error: code, atMs, endMs: Math.round(this.options.elapsedMs()) });
      throw error;
    }
  }
}

/** An answer that says "not applied, try again": 503 (no leader, no quorum) or nothing sent at all. */
function isRefusal(error: KvError): boolean {
  return error.status === 503 || (error.status === 0 && !error.outcomeUnknown);
}

/** No answer, or an answer that leaves the outcome open (502, 504). */
function isLostAnswer(error: KvError): boolean {
  return error.status === 0 || error.status === 502 || error.status === 504;
}

/** The clients of one run, started and stopped together. */
export class Workload {
  readonly counts: WorkloadCounts = { invoked: 0, acked: 0, unknown: 0, failed: 0 };
  readonly clients: readonly ChaosClient[];

  constructor(options: WorkloadOptions) {
    this.clients = Array.from({ length: options.clients }, (_, i) => {
      // Each client starts on a different node; KvClient moves to the leader once it learns it.
      const rotated = [...options.endpoints.slice(i % options.endpoints.length), ...options.endpoints.slice(0, i % options.endpoints.length)];
      const retryBudgetMs = options.retryBudgetsMs[i % options.retryBudgetsMs.length]!;
      return new ChaosClient(`chaos-c${i + 1}`, options, options.random.fork(), this.counts, rotated, retryBudgetMs);
    });
  }

  start(): void {
    for (const client of this.clients) client.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.stop()));
  }
}
