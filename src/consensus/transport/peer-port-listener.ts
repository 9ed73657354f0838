import { createServer, type Server } from 'node:http';
import { Injectable, Logger, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { RaftConfig } from '../../config/raft-config.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { kv } from '../host-ports.js';
import { RaftHostService } from '../raft-host.service.js';
import { PeerHotPath, type RequestListener } from './peer-hot-path.js';
import { installRequestFront } from '../../http/request-front.js';

/**
 * Where peers reach `/raft/*`: the peer hot path (peer-hot-path.ts) in front of the application's
 * own server, and `--peer-port`, a second listener for the same application (so a request
 * forwarded to a member's peer url still finds the client API), with the same hot path in front.
 * The peer-port listener is closed before the application's own server during shutdown.
 */
@Injectable()
export class PeerPortListener implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger('PeerPort');
  readonly hotPath: PeerHotPath;
  private server: Server | null = null;

  constructor(
    private readonly config: RaftConfig,
    private readonly adapterHost: HttpAdapterHost,
    node: RaftHostService,
    metrics: MetricsService,
  ) {
    this.hotPath = new PeerHotPath(node, metrics, this.logger);
  }

  /**
   * Installs the hot path on the application's server, whose only 'request' listener is express
   * at this point: module init runs before any bootstrap hook, so a front installed at bootstrap
   * (the client hot path, KvHotPath) wraps this one, and removing that one restores this one.
   */
  onModuleInit(): void {
    const installed = installRequestFront(this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined, (express) => this.hotPath.front(express));
    if (installed === null) return;
    if ('reason' in installed) this.logger.warn(`event=peer_hot_path_not_installed reason="${installed.reason}"`);
    else this.logger.log('event=peer_hot_path_installed routes="POST /raft/:route"');
  }

  /** Listens on config.peerPort (if set) with the application's request handler behind the hot path. */
  async listen(handler: RequestListener, keepAliveTimeoutMs: number): Promise<void> {
    const port = this.config.peerPort;
    if (port === null || this.server !== null) return;
    const server = createServer(this.hotPath.front(handler));
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
