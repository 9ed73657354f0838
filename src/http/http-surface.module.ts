import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ApiExceptionFilter } from './api-exception.filter.js';
import { ClusterTokenGuard } from './cluster-token.guard.js';
import { HttpSurface } from './http-surface.js';
import { LeaderForwarder } from './leader-forwarder.js';

/**
 * What every HTTP route of the node shares: the JSON error contract (a global filter, so it
 * also answers unknown routes, malformed bodies and the peer routes), the X-Raft-* headers and
 * request metrics, the JSON body limit, forwarding to the leader, and the cluster-token guard.
 * Imported by KvHttpModule and AdminModule; Nest builds it once. Needs `KvNode` and
 * `RaftConfig` visible (ConsensusModule and ConfigModule are global) and MetricsModule.
 */
@Module({
  providers: [{ provide: APP_FILTER, useClass: ApiExceptionFilter }, HttpSurface, LeaderForwarder, ClusterTokenGuard],
  exports: [LeaderForwarder, ClusterTokenGuard],
})
export class HttpSurfaceModule {}
