import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** Puts a front back where it was: the listener it wrapped serves every request again. */
export type RemoveFront = () => void;

/**
 * Puts `makeFront(next)` in front of the HTTP server's one 'request' listener (express, or a
 * front installed earlier), so a hot path sees every request first and hands on what it does
 * not take. Returns null, changing nothing, when there is no server (an application context
 * without HTTP) or not exactly one listener to wrap: `reason` says which.
 */
export function installRequestFront(
  server: Server | undefined,
  makeFront: (next: RequestListener) => RequestListener,
): { remove: RemoveFront } | { reason: string } | null {
  if (server === undefined || typeof server.listeners !== 'function') return null;
  const listeners = server.listeners('request') as RequestListener[];
  if (listeners.length !== 1) return { reason: `expected one request listener, found ${listeners.length}` };
  const next = listeners[0]!;
  const front = makeFront(next);
  server.removeListener('request', next);
  server.on('request', front);
  return {
    remove: () => {
      server.removeListener('request', front);
      server.on('request', next);
    },
  };
}
