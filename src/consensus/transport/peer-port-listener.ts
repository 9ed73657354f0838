import { createServer, type RequestListener, type Server } from 'node:http';
import { Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { RaftConfig } from '../../config/raft-config.js';
import { kv } from '../host-ports.js';

/**
 * `--peer-port`: a second listener for the same application, so peers reach `/raft/*` there
 * (and a request forwarded to a member's peer url still finds the client API). Closed before the
 * application's own server during shutdown.
 */
@Injectable()
export class PeerPortListener implements BeforeApplicationShutdown {
  private readonly logger = new Logger('PeerPort');
  private server: Server | null = null;

  constructor(private readonly config: RaftConfig) {}

  /** Listens on config.peerPort (if set) with the application's request handler. */
  async listen(handler: RequestListener, keepAliveTimeoutMs: number): Promise<void> {
    const port = this.config.peerPort;
    if (port === null || this.server !== null) return;
    const server = createServer(handler);
    server.keepAliveTimeout = keepAliveTimeoutMs;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.logger.log(`event=peer_port_listening ${kv({ host: this.config.host, port })}`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (server === null) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}
