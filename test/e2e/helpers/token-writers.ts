/**
 * A client workload whose outcome can be checked exactly after a crash. Each TokenWriter is
 * one KvClient (its own clientId; retries reuse clientId+seq) writing, round after round k:
 *   - append `<id>.<k>;` to a key shared by every writer,
 *   - append `<k>;` to its own key,
 *   - put `<putPrefix><id>/<k>` = `v<k>`.
 * It remembers what was acknowledged and what was sent. Since a client writes one at a time
 * with increasing seq, and the state machine refuses a seq below the latest applied, the tokens
 * a client got applied appear in its order, each at most once (SPEC 2, exactly-once).
 */
import { KvClient } from '../../../src/client/kv-client.js';
import { KvError } from '../../../src/client/kv-error.js';

export interface TokenKeys {
  /** The key every writer appends to. */
  readonly shared: string;
  /** Each writer's own key is this plus its id. */
  readonly ownPrefix: string;
  /** Each put goes to this plus `<id>/<k>`. */
  readonly putPrefix: string;
}

export interface WriteFailure {
  readonly what: string;
  readonly status: number;
  readonly error: string;
  readonly outcomeUnknown: boolean;
}

export class TokenWriter {
  readonly client: KvClient;
  /** Highest round whose shared / own append was sent (acknowledged or not). */
  sharedSent = 0;
  ownSent = 0;
  readonly ackedShared = new Set<number>();
  readonly ackedOwn = new Set<number>();
  /** Acknowledged puts: key -> value. */
  readonly ackedPuts = new Map<string, string>();
  readonly failures: WriteFailure[] = [];
  /** Writes acknowledged, all kinds. */
  acks = 0;
  /** HTTP attempts per seq: a seq sent more than once was retried with the same clientId+seq. */
  private readonly attemptsBySeq = new Map<number, number>();
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    endpoints: readonly string[],
    readonly keys: TokenKeys,
    clientOptions: { retryBudgetMs: number; requestTimeoutMs: number },
  ) {
    this.client = new KvClient({ endpoints, clientId: id, ...clientOptions, fetch: (input, init) => this.countingFetch(input, init) });
  }

  /** Writes whose clientId+seq went out more than once (to any node). */
  get retriedWrites(): number {
    let retried = 0;
    for (const attempts of this.attemptsBySeq.values()) if (attempts > 1) retried++;
    return retried;
  }

  private countingFetch(input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]): ReturnType<typeof fetch> {
    if (typeof init?.body === 'string') {
      const seq = (JSON.parse(init.body) as { seq?: unknown }).seq;
      if (typeof seq === 'number') this.attemptsBySeq.set(seq, (this.attemptsBySeq.get(seq) ?? 0) + 1);
    }
    return fetch(input, init);
  }

  get ownKey(): string {
    return this.keys.ownPrefix + this.id;
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  /** Lets the write in flight finish (acknowledged or failed), then stops. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    for (let k = 1; this.running; k++) {
      this.sharedSent = k;
      await this.attempt(`shared append ${k}`, () => this.client.append(this.keys.shared, `${this.id}.${k};`), () => this.ackedShared.add(k));
      if (!this.running) break;
      this.ownSent = k;
      await this.attempt(`own append ${k}`, () => this.client.append(this.ownKey, `${k};`), () => this.ackedOwn.add(k));
      if (!this.running) break;
      const putKey = `${this.keys.putPrefix}${this.id}/${k}`;
      await this.attempt(`put ${k}`, () => this.client.put(putKey, `v${k}`), () => this.ackedPuts.set(putKey, `v${k}`));
    }
  }

  private async attempt(what: string, write: () => Promise<unknown>, acknowledged: () => void): Promise<void> {
    try {
      await write();
      acknowledged();
      this.acks++;
    } catch (error) {
      if (!(error instanceof KvError)) throw error;
      // The retry budget ran out: the write may or may not have been applied; go on with a new seq.
      this.failures.push({ what, status: error.status, error: error.error, outcomeUnknown: error.outcomeUnknown });
    }
  }
}

/** The rounds found in a value, per writer, in the order they appear; null for an unreadable token. */
export function roundsByWriter(sharedValue: string): Map<string, number[]> | null {
  const rounds = new Map<string, number[]>();
  for (const token of sharedValue.split(';')) {
    if (token === '') continue;
    const match = /^(.+)\.(\d+)$/.exec(token);
    if (match === null) return null;
    const list = rounds.get(match[1]!) ?? [];
    list.push(Number(match[2]));
    rounds.set(match[1]!, list);
  }
  return rounds;
}

/** The rounds found in a writer's own value (`1;2;3;`), in order; null for an unreadable token. */
export function ownRounds(ownValue: string): number[] | null {
  const rounds: number[] = [];
  for (const token of ownValue.split(';')) {
    if (token === '') continue;
    if (!/^\d+$/.test(token)) return null;
    rounds.push(Number(token));
  }
  return rounds;
}

/**
 * What is wrong with the rounds one writer got applied, given what it sent and what was
 * acknowledged: a round twice, out of order, never sent, or acknowledged yet missing.
 * Empty when all is well.
 */
export function tokenProblems(found: readonly number[], sent: number, acknowledged: ReadonlySet<number>): string[] {
  const problems: string[] = [];
  const seen = new Set<number>();
  for (let i = 0; i < found.length; i++) {
    const k = found[i]!;
    if (seen.has(k)) problems.push(`round ${k} applied twice`);
    seen.add(k);
    if (i > 0 && found[i - 1]! >= k) problems.push(`round ${k} after round ${found[i - 1]}`);
    if (k < 1 || k > sent) problems.push(`round ${k} was never sent (sent 1..${sent})`);
  }
  for (const k of acknowledged) if (!seen.has(k)) problems.push(`acknowledged round ${k} is missing`);
  return problems;
}
