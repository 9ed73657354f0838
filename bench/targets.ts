/**
 * A system under load, as the load generator sees it: where to send requests and how each
 * operation of the workload is written as an HTTP request. raft-kv and etcd implement it, so both
 * run exactly the same workload (same keys, values, connections and durations).
 */
import type { BenchProcess } from './processes.js';

export type Operation = 'put' | 'get-linearizable' | 'get-stale' | 'append';

export interface HttpRequestSpec {
  readonly method: 'GET' | 'PUT' | 'POST';
  readonly path: string;
  readonly body?: string;
}

/** A client's session identity on an exactly-once write. */
export interface Session {
  readonly clientId: string;
  readonly seq: number;
}

export interface Member {
  readonly name: string;
  readonly url: string;
  readonly process: BenchProcess;
}

export interface Target {
  readonly name: string;
  readonly members: readonly Member[];
  /** The member requests go to (the leader: no forwarding hop in either system). */
  leader(): Promise<Member>;
  /** The request for `op` on `key`, or null when the system has no such operation. */
  request(op: Operation, key: string, value: string, session: Session | null): HttpRequestSpec | null;
}

/**
 * Fresh headers for a JSON request. Never share one object between requests: autocannon writes
 * the Content-Length of the body it builds into the headers object it is given, and a later
 * request with another body (fetch in the preload) would then send a wrong length and hang.
 */
export function jsonHeaders(): Record<string, string> {
  return { 'content-type': 'application/json' };
}
