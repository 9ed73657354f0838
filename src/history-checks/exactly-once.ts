import type { HistoryOp } from './history.js';

/**
 * Exactly-once application of retried writes (SPEC 2, 6). Every value a client writes is a
 * unique token (`writeToken`), so the final value of a key tells which writes took effect and
 * how often:
 *  - no token appears twice in any final value (no write applied twice);
 *  - every token was sent to that key by some client (nothing invented or misrouted);
 *  - on append-only keys, every acknowledged append appears exactly once, and each client's
 *    tokens appear in the order it sent them (it sends one write at a time).
 * An append whose outcome is unknown may appear once or not at all.
 */

const TOKEN_END = ';';

/** The value a client writes for (clientId, seq): unique across the whole run, so countable. */
export function writeToken(kind: 'put' | 'append' | 'cas', clientId: string, seq: number): string {
  return `${kind[0]}:${clientId}.${seq}${TOKEN_END}`;
}

function splitTokens(value: string): string[] {
  return value
    .split(TOKEN_END)
    .filter((token) => token.length > 0)
    .map((token) => token + TOKEN_END);
}

export interface ExactlyOnceInput {
  readonly history: readonly HistoryOp[];
  /** The converged final value of every key (null: absent). */
  readonly finalValues: ReadonlyMap<string, string | null>;
  /** Keys only ever appended to: their final value holds every append that took effect. */
  readonly appendOnlyKeys: readonly string[];
}

export function checkExactlyOnce(input: ExactlyOnceInput): string[] {
  const violations: string[] = [];
  const sentTo = new Map<string, string>();
  for (const op of input.history) {
    if (op.op.kind === 'put' || op.op.kind === 'append' || op.op.kind === 'cas') sentTo.set(op.op.value, op.op.key);
  }

  for (const [key, value] of input.finalValues) {
    if (value === null) continue;
    const seen = new Set<string>();
    for (const token of splitTokens(value)) {
      if (seen.has(token)) violations.push(`exactly-once: ${token} applied twice to ${key}`);
      seen.add(token);
      const origin = sentTo.get(token);
      if (origin === undefined) violations.push(`exactly-once: ${token} in ${key} was never sent`);
      else if (origin !== key) violations.push(`exactly-once: ${token} sent to ${origin} but found in ${key}`);
    }
  }

  for (const key of input.appendOnlyKeys) {
    const tokens = splitTokens(input.finalValues.get(key) ?? '');
    const position = new Map(tokens.map((token, i) => [token, i]));
    const lastByClient = new Map<string, { token: string; at: number }>();
    const appends = input.history.filter((op) => op.op.kind === 'append' && op.op.key === key);
    for (const op of [...appends].sort((a, b) => a.seq - b.seq)) {
      if (op.op.kind !== 'append') continue;
      const at = position.get(op.op.value);
      if (at === undefined) {
        if (op.result !== undefined) violations.push(`exactly-once: acknowledged ${op.op.value} lost from ${key}`);
        continue;
      }
      const previous = lastByClient.get(op.clientId);
      if (previous !== undefined && previous.at > at) {
        violations.push(`exactly-once: ${op.op.value} precedes the earlier ${previous.token} in ${key}`);
      }
      lastByClient.set(op.clientId, { token: op.op.value, at });
    }
  }
  return violations;
}
