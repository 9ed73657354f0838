import { Client } from 'undici';

const OCTET_STREAM = 'application/octet-stream';

export interface PeerEndpointOptions {
  /** No answer within this: the request fails (the peer is stalled or gone). */
  readonly requestTimeoutMs: number;
  /** `Bearer <token>` when the cluster has a token. */
  readonly authorization: string | null;
}

/** A non-2xx answer from a peer. */
export class PeerHttpError extends Error {
  constructor(
    readonly status: number,
    body: string,
  ) {
    super(`answered ${status}: ${body.slice(0, 200)}`);
  }
}

/**
 * One keep-alive HTTP/1.1 connection to a peer's `/raft/*` endpoints, at the exact url given in
 * --peers (which may carry a path prefix, e.g. behind a proxy).
 */
export class PeerEndpoint {
  private readonly client: Client;
  private readonly basePath: string;

  constructor(
    readonly url: string,
    private readonly options: PeerEndpointOptions,
  ) {
    const parsed = new URL(url);
    this.basePath = parsed.pathname.replace(/\/+$/, '');
    this.client = new Client(parsed.origin, {
      connectTimeout: options.requestTimeoutMs,
      headersTimeout: options.requestTimeoutMs,
      bodyTimeout: options.requestTimeoutMs,
      keepAliveTimeout: 30_000,
      // One request at a time per connection: a sender batches what queues up meanwhile.
      pipelining: 1,
    });
  }

  /**
   * POSTs `body` to `/raft/<route>`; throws unless the answer is 2xx. Resolves with the peer's
   * reply batch when it answered 200 with one (see peer-routes.ts), else null.
   */
  async post(route: string, body: Uint8Array): Promise<Uint8Array | null> {
    const headers: Record<string, string> = { 'content-type': OCTET_STREAM };
    if (this.options.authorization !== null) headers['authorization'] = this.options.authorization;
    const response = await this.client.request({ method: 'POST', path: `${this.basePath}/raft/${route}`, headers, body });
    if (response.statusCode >= 200 && response.statusCode < 300) {
      const contentType = response.headers['content-type'];
      if (response.statusCode === 200 && typeof contentType === 'string' && contentType.startsWith(OCTET_STREAM)) {
        return new Uint8Array(await response.body.arrayBuffer());
      }
      await response.body.dump();
      return null;
    }
    throw new PeerHttpError(response.statusCode, await response.body.text().catch(() => ''));
  }

  async close(): Promise<void> {
    await this.client.destroy().catch(() => undefined);
  }
}
