import { type DynamicModule, Module } from '@nestjs/common';
import { RaftConfig } from './raft-config.js';

/**
 * Provides the validated RaftConfig to every module (global), injected by type:
 * `constructor(private readonly config: RaftConfig)`. The config is parsed and checked
 * before the application is created (parseRaftConfig), so a bad flag never reaches Nest.
 */
@Module({})
export class ConfigModule {
  static forRoot(config: RaftConfig): DynamicModule {
    return {
      module: ConfigModule,
      global: true,
      providers: [{ provide: RaftConfig, useValue: config }],
      exports: [RaftConfig],
    };
  }
}
