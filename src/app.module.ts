import { type DynamicModule, Module } from '@nestjs/common';
import { AdminModule } from './admin/admin.module.js';
import { ConfigModule } from './config/config.module.js';
import type { RaftConfig } from './config/raft-config.js';
import { ConsensusModule } from './consensus/consensus.module.js';
import { KvHttpModule } from './kv/kv-http.module.js';
import { MetricsModule } from './metrics/metrics.module.js';

/** The whole node for one validated config: consensus, client API, admin, metrics. */
@Module({})
export class AppModule {
  static forConfig(config: RaftConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [ConfigModule.forRoot(config), MetricsModule, ConsensusModule, KvHttpModule, AdminModule],
    };
  }
}
