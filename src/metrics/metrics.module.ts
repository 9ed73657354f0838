import { Global, Module } from '@nestjs/common';
import { MetricsService } from './metrics.service.js';

/**
 * Global so the consensus host, storage and HTTP layer all record into the one registry.
 * `GET /metrics` is served by the AdminModule, which also reads the node's status.
 */
@Global()
@Module({ providers: [MetricsService], exports: [MetricsService] })
export class MetricsModule {}
