/**
 * The HTTP load generator: autocannon on keep-alive connections, one request at a time per
 * connection (no pipelining), every request built afresh so that keys vary and, for exactly-once
 * writes, each connection is one client session (its own clientId, seq 1, 2, 3, ...).
 *
 * Per-connection state uses autocannon's documented `setupClient` + `client.setRequests`: each
 * connection gets its own request list whose `setupRequest` closes over that connection's session.
 * (A `setupRequest` shared by all connections cannot keep one: autocannon resets its context
 * before every request of a one-request list, and the first request of every connection would be
 * built from the shared list.)
 */
import autocannon from 'autocannon';
import { jsonHeaders, type HttpRequestSpec, type Session } from './targets.js';

/** Request timeout of the generator, above raft-kv's 5 s client timeout (which answers 504). */
const GENERATOR_TIMEOUT_SECONDS = 10;

export interface LoadSpec {
  readonly url: string;
  readonly connections: number;
  /** Run for this long, or until `amount` responses (whichever is given). */
  readonly seconds?: number;
  readonly amount?: number;
  /** The next request of a connection; `session` is that connection's next (clientId, seq). */
  readonly next: (session: Session) => HttpRequestSpec;
  /** Called once a second with the responses so far (for a progress line). */
  readonly onTick?: (responses: number, elapsedSeconds: number) => void;
  /** Called on every response as it arrives (status, latency in ms), e.g. to find pauses. */
  readonly onResponse?: (statusCode: number, latencyMs: number) => void;
}

export interface LoadResult {
  readonly durationSeconds: number;
  readonly ok: number;
  readonly requestsPerSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly mean: number; readonly max: number };
  /** Connection errors and timeouts, and answers other than 2xx. */
  readonly errors: number;
  readonly non2xx: number;
  readonly timeouts: number;
  readonly statusCounts: Record<string, number>;
  /** CPU seconds the generator itself used (it shares the machine with the system under load). */
  readonly generatorCpuSeconds: number;
}

let runSequence = 0;

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const run = `bench-${process.pid}-${++runSequence}`;
  let connection = 0;
  const requestFor = (req: HttpRequestSpec) => ({
    method: req.method,
    path: req.path,
    headers: req.body === undefined ? {} : jsonHeaders(),
    body: req.body,
  });
  const connectionRequests = (): autocannon.Request[] => {
    const clientId = `${run}-c${++connection}`;
    let seq = 0;
    return [{ setupRequest: (request) => ({ ...request, ...requestFor(spec.next({ clientId, seq: ++seq })) }) }];
  };
  const cpuBefore = process.cpuUsage();
  let finish!: (result: autocannon.Result) => void;
  let fail!: (error: unknown) => void;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const instance = autocannon({
    url: spec.url,
    connections: spec.connections,
    pipelining: 1,
    timeout: GENERATOR_TIMEOUT_SECONDS,
    ...(spec.amount !== undefined ? { amount: spec.amount } : { duration: spec.seconds ?? 10 }),
    requests: connectionRequests(),
    setupClient: (client) => client.setRequests(connectionRequests()),
  }, (error: unknown, result) => (error ? fail(error) : finish(result)));
  let responses = 0;
  let elapsedSeconds = 0;
  // autocannon's own percentiles are whole milliseconds; a 1-connection row lives below one.
  const latenciesMs: number[] = [];
  instance.on('response', (_client, statusCode, _bytes, latencyMs) => {
    responses++;
    latenciesMs.push(latencyMs);
    spec.onResponse?.(statusCode, latencyMs);
  });
  instance.on('tick', () => spec.onTick?.(responses, ++elapsedSeconds));
  const result = await finished;
  const cpu = process.cpuUsage(cpuBefore);
  const statusCounts: Record<string, number> = {};
  for (const [status, stat] of Object.entries(result.statusCodeStats ?? {})) statusCounts[status] = stat.count ?? 0;
  return {
    durationSeconds: result.duration,
    ok: result['2xx'],
    requestsPerSecond: result['2xx'] / result.duration,
    latencyMs: { p50: percentile(latenciesMs, 0.5), p99: percentile(latenciesMs, 0.99), mean: result.latency.mean, max: result.latency.max },
    errors: result.errors + result.non2xx,
    non2xx: result.non2xx,
    timeouts: result.timeouts,
    statusCounts,
    generatorCpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

/** The q-quantile (nearest rank) of response times measured with hrtime, to the microsecond. */
function percentile(valuesMs: number[], q: number): number {
  if (valuesMs.length === 0) return 0;
  valuesMs.sort((a, b) => a - b);
  return valuesMs[Math.min(valuesMs.length - 1, Math.ceil(q * valuesMs.length) - 1)]!;
}
