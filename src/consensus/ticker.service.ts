import { Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { RaftConfig } from '../config/raft-config.js';
import { RaftHostService } from './raft-host.service.js';

/**
 * The node's one timer: time enters the Raft core only as tick(), every `tickMs` (STYLE 1).
 * A late timer (a busy event loop) only delays ticks, which can slow an election or a heartbeat
 * but never speeds one up: the core counts ticks, not wall time.
 */
@Injectable()
export class TickerService implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly node: RaftHostService,
    private readonly config: RaftConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer ??= setInterval(() => this.node.tick(), this.config.tickMs);
  }

  onModuleDestroy(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
