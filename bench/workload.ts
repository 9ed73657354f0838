/**
 * The workload of the issue: 10,000 keys of 100-byte values, preloaded; then each row runs one
 * operation at a number of connections on random keys (a seeded PRNG, so every system under
 * test sees the same key sequence per row).
 */
import type { Operation } from './targets.js';
import { Prng } from '../src/consensus/core/prng.js';

export const KEY_COUNT = 10_000;
export const VALUE_BYTES = 100;
export const PRELOAD_CONNECTIONS = 64;

export interface Row {
  readonly name: string;
  readonly op: Operation;
  readonly connections: number;
  /** Whether each connection sends its writes as a client session (clientId + increasing seq). */
  readonly sessions: boolean;
}

export const ROWS: readonly Row[] = [
  { name: 'PUT c=1', op: 'put', connections: 1, sessions: false },
  { name: 'PUT c=16', op: 'put', connections: 16, sessions: false },
  { name: 'PUT c=64', op: 'put', connections: 64, sessions: false },
  { name: 'PUT c=256', op: 'put', connections: 256, sessions: false },
  { name: 'GET linearizable c=64', op: 'get-linearizable', connections: 64, sessions: false },
  { name: 'GET stale c=64', op: 'get-stale', connections: 64, sessions: false },
  { name: 'APPEND clientId+seq c=64', op: 'append', connections: 64, sessions: true },
];

export function keyName(n: number): string {
  return `key-${String(n % KEY_COUNT).padStart(5, '0')}`;
}

/** A 100-byte printable value (ASCII, so bytes = characters). */
export const VALUE = Array.from({ length: VALUE_BYTES }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');

/** Key numbers in [0, KEY_COUNT), from the project's seeded PRNG so a row's keys repeat run to run. */
export function randomKeys(seed: number): () => number {
  const random = new Prng(seed);
  return () => random.nextInt(0, KEY_COUNT);
}
