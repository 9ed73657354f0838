/**
 * The drills' client load, whose outcome can be checked exactly after any fault. Each
 * TokenWriter is one KvClient (its own clientId; retries reuse clientId+seq) writing, round
 * after round k:
 *   - append `<id>.<k>;` to a key shared by every writer,
 *   - append `<k>;` to its own key,
 *   - put `<putPrefix><id>/<k>` = `v<k>`.
 * It remembers what was acknowledged and what was sent (see tokens.ts for the checks).
 */
import { KvClient } from '../client/kv-client.js';
import { KvError } from '../client/kv-error.js';

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

export interface ClientTimeouts {
  readonly retryBudgetMs: number;
  readonly requestTimeoutMs: number;
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
  /** performance.now() of the latest acknowledgement (0: none yet). */
  lastAckAt = 0;
  /** The longest time, in ms, between two acknowledgements of this writer while it ran. */
  longestAckGapMs = 0;
  /** HTTP attempts per seq: a seq sent more than once was retried with the same clientId+seq. */
  private readonly attemptsBySeq = new Map<number, number>();
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    endpoints: readonly string[],
    readonly keys: TokenKeys,
    clientOptions: ClientTimeouts,
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
    this.lastAckAt = performance.now();
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
      const now = performance.now();
      this.longestAckGapMs = Math.max(this.longestAckGapMs, now - this.lastAckAt);
      this.lastAckAt = now;
    } catch (error) {
      if (!(error instanceof KvError)) throw error;
      // The retry budget ran out: the write may or may not have been applied; go on with a new seq.
      this.failures.push({ what, status: error.status, error: error.error, outcomeUnknown: error.outcomeUnknown });
    }
  }
}

export interface LoadOptions extends ClientTimeouts {
  readonly writers: number;
  /** Every key the load writes starts with this prefix. */
  readonly prefix: string;
  /**
   * Writer i's id (and clientId) is this plus i; default `drill-c`. A cluster that outlives
   * one drill (`--existing`) needs a new one per run: a clientId's seq starts at 1 again, and
   * the session a previous run left would refuse it as stale (SPEC 2).
   */
  readonly clientIdPrefix?: string;
}

/** Several TokenWriters on the same endpoints: the steady load a drill runs while it acts. */
export class DrillLoad {
  readonly writers: readonly TokenWriter[];
  readonly keys: TokenKeys;

  constructor(
    endpoints: readonly string[],
    readonly options: LoadOptions,
  ) {
    this.keys = { shared: `${options.prefix}shared`, ownPrefix: `${options.prefix}own/`, putPrefix: `${options.prefix}put/` };
    this.writers = Array.from({ length: options.writers }, (_, i) => new TokenWriter(`${options.clientIdPrefix ?? 'drill-c'}${i + 1}`, endpoints, this.keys, options));
  }

  start(): void {
    for (const w of this.writers) w.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.writers.map((w) => w.stop()));
  }

  get acks(): number {
    return this.writers.reduce((sum, w) => sum + w.acks, 0);
  }

  get retriedWrites(): number {
    return this.writers.reduce((sum, w) => sum + w.retriedWrites, 0);
  }

  get failures(): number {
    return this.writers.reduce((sum, w) => sum + w.failures.length, 0);
  }

  /** The longest stretch, in ms, between two acknowledgements of any one client. */
  get longestAckGapMs(): number {
    return Math.max(0, ...this.writers.map((w) => w.longestAckGapMs));
  }
}
