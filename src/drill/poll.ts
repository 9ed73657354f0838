/**
 * Real processes are synchronised by polling a condition with a deadline, never by sleeping
 * for a guessed time. The interval only spaces the probes.
 */
import { setTimeout as delay } from 'node:timers/promises';

export async function until<T>(
  what: string,
  deadlineMs: number,
  probe: () => Promise<T | undefined>,
  options: { intervalMs?: number; describe?: () => string } = {},
): Promise<T> {
  const started = Date.now();
  let lastError: unknown = undefined;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() - started > deadlineMs) {
      const cause = lastError === undefined ? '' : ` (last error: ${String(lastError)})`;
      const context = options.describe ? `\n${options.describe()}` : '';
      throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}${cause}${context}`);
    }
    await delay(options.intervalMs ?? 50);
  }
}
