/**
 * The client's endpoints and what it has learned about them: which node each one is (from
 * `GET /admin/status`, the only answer that surely comes from the endpoint itself: a relayed
 * answer carries the leader's X-Raft-Node) and which node leads (from X-Raft-Leader and the
 * `leaderId` of errors). Requests go to the leader's endpoint when it is known, else to the
 * endpoint under the rotating cursor; any node forwards, so a wrong guess costs a hop, not
 * an error.
 */

/** Parses and normalises one endpoint: an http(s) URL, returned without a trailing slash. */
export function normalizeEndpoint(text: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new Error(`endpoint ${JSON.stringify(text)} is not a URL (expected e.g. http://127.0.0.1:7001)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`endpoint ${JSON.stringify(text)} must use http or https`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new Error(`endpoint ${JSON.stringify(text)} must not have a query or fragment`);
  }
  return url.href.replace(/\/+$/, '');
}

/** A comma-separated list of endpoints (the kvctl flag and KVCTL_ENDPOINTS). */
export function parseEndpointList(csv: string): string[] {
  const parts = csv.split(',').map((part) => part.trim()).filter((part) => part !== '');
  if (parts.length === 0) throw new Error('no endpoint given');
  return parts.map(normalizeEndpoint);
}

export class EndpointBook {
  readonly endpoints: readonly string[];
  private cursor = 0;
  private leader: string | null = null;
  private readonly nodeIdByEndpoint = new Map<string, string>();

  constructor(endpoints: readonly string[]) {
    if (endpoints.length === 0) throw new Error('KvClient needs at least one endpoint');
    this.endpoints = [...new Set(endpoints.map(normalizeEndpoint))];
  }

  get leaderId(): string | null {
    return this.leader;
  }

  /** The endpoint for the next attempt: the leader's if known, else the cursor's. */
  pick(): string {
    return this.leaderEndpoint() ?? this.endpoints[this.cursor]!;
  }

  /** The endpoint known to be node `id`, or null. */
  endpointOf(id: string): string | null {
    for (const endpoint of this.endpoints) {
      if (this.nodeIdByEndpoint.get(endpoint) === id) return endpoint;
    }
    return null;
  }

  leaderEndpoint(): string | null {
    return this.leader === null ? null : this.endpointOf(this.leader);
  }

  nodeIdOf(endpoint: string): string | null {
    return this.nodeIdByEndpoint.get(endpoint) ?? null;
  }

  /** Endpoints whose node id is not known yet. */
  unidentified(): string[] {
    return this.endpoints.filter((endpoint) => !this.nodeIdByEndpoint.has(endpoint));
  }

  /** An empty or absent leader header means "no leader known": forget ours too. */
  noteLeader(id: string | null | undefined): void {
    this.leader = id === undefined || id === null || id === '' ? null : id;
  }

  noteIdentity(endpoint: string, id: string): void {
    if (this.endpoints.includes(endpoint) && id !== '') this.nodeIdByEndpoint.set(endpoint, id);
  }

  /**
   * `endpoint` failed (no answer, or an answer that says "ask elsewhere"): move the cursor past
   * it, and stop preferring it as the leader's.
   */
  moveAwayFrom(endpoint: string): void {
    if (this.leaderEndpoint() === endpoint) this.leader = null;
    const index = this.endpoints.indexOf(endpoint);
    this.cursor = ((index === -1 ? this.cursor : index) + 1) % this.endpoints.length;
  }
}
