/**
 * Reading back the tokens the drill load appended, and judging them against what each client
 * sent and was acknowledged. Since a client writes one at a time with increasing seq, and the
 * state machine refuses a seq below the latest applied, the tokens a client got applied must
 * appear in its order, each at most once (SPEC 2, exactly-once), and every acknowledged one
 * must be there (SPEC 6).
 */

export type TokenIssueKind = 'duplicate' | 'out-of-order' | 'never-sent' | 'lost';

export interface TokenIssue {
  readonly kind: TokenIssueKind;
  readonly round: number;
  /** For out-of-order: the round found just before. */
  readonly after?: number;
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
 * What is wrong with the rounds one writer got applied, given the highest round it sent and
 * the rounds acknowledged: a round twice, out of order, never sent, or acknowledged yet missing.
 */
export function tokenIssues(found: readonly number[], sent: number, acknowledged: ReadonlySet<number>): TokenIssue[] {
  const issues: TokenIssue[] = [];
  const seen = new Set<number>();
  for (let i = 0; i < found.length; i++) {
    const k = found[i]!;
    if (seen.has(k)) issues.push({ kind: 'duplicate', round: k });
    seen.add(k);
    if (i > 0 && found[i - 1]! >= k) issues.push({ kind: 'out-of-order', round: k, after: found[i - 1]! });
    if (k < 1 || k > sent) issues.push({ kind: 'never-sent', round: k });
  }
  for (const k of acknowledged) if (!seen.has(k)) issues.push({ kind: 'lost', round: k });
  return issues;
}

export function describeTokenIssue(issue: TokenIssue, sent: number): string {
  switch (issue.kind) {
    case 'duplicate':
      return `round ${issue.round} applied twice`;
    case 'out-of-order':
      return `round ${issue.round} after round ${issue.after}`;
    case 'never-sent':
      return `round ${issue.round} was never sent (sent 1..${sent})`;
    case 'lost':
      return `acknowledged round ${issue.round} is missing`;
  }
}

/** tokenIssues as sentences; empty when all is well. */
export function tokenProblems(found: readonly number[], sent: number, acknowledged: ReadonlySet<number>): string[] {
  return tokenIssues(found, sent, acknowledged).map((issue) => describeTokenIssue(issue, sent));
}
