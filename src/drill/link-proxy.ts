/**
 * A TCP proxy for one directed peer link (node A dialing node B). Nodes dial a peer at exactly
 * the url `--peers` gives (SPEC 1), so pointing A's url for B at this proxy puts the link in
 * the drill's hands: `cut()` destroys the connections in flight and refuses new ones (the
 * listener stays bound, so the port cannot be taken by anyone else meanwhile); `heal()` lets
 * connections through again. Bytes are counted per direction, to report what a link carried.
 */
import { createServer, type Server, type Socket, connect } from 'node:net';

export interface LinkProxyOptions {
  /** Where the proxied node serves peer RPC. */
  readonly targetHost: string;
  readonly targetPort: number;
  /** Listen here; 0 lets the OS pick. */
  readonly listenPort?: number;
  readonly listenHost?: string;
}

export class LinkProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private cutNow = false;
  /** Bytes carried from the dialing node to the target, and back. */
  bytesForward = 0;
  bytesBackward = 0;
  /** Connections refused while cut. */
  refused = 0;

  private constructor(private readonly options: LinkProxyOptions) {
    this.server = createServer((client) => this.accept(client));
  }

  static async start(options: LinkProxyOptions): Promise<LinkProxy> {
    const proxy = new LinkProxy(options);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(options.listenPort ?? 0, options.listenHost ?? '127.0.0.1', () => {
        proxy.server.off('error', reject);
        resolve();
      });
    });
    return proxy;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  get url(): string {
    return `http://${this.options.listenHost ?? '127.0.0.1'}:${this.port}`;
  }

  get isCut(): boolean {
    return this.cutNow;
  }

  /** Drops every connection on the link and refuses new ones until heal(). */
  cut(): void {
    this.cutNow = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  heal(): void {
    this.cutNow = false;
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.cutNow) {
      this.refused++;
      // A reset rather than a clean close: the dialing node sees the link fail at once.
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(this.options.targetPort, this.options.targetHost);
    this.track(client);
    this.track(upstream);
    client.on('data', (chunk: Buffer) => {
      this.bytesForward += chunk.length;
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.on('data', (chunk: Buffer) => {
      this.bytesBackward += chunk.length;
      if (!client.write(chunk)) upstream.pause();
    });
    client.on('drain', () => upstream.resume());
    // Either side ending or failing ends both: a half-open link would hide a cut from the node.
    const closeBoth = (): void => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', closeBoth);
      socket.on('close', closeBoth);
      socket.on('end', closeBoth);
    }
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }
}
