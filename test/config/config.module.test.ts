import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigModule } from '../../src/config/config.module.js';
import { parseRaftConfig } from '../../src/config/parse-args.js';
import { RaftConfig } from '../../src/config/raft-config.js';

@Injectable()
class NeedsConfig {
  constructor(readonly config: RaftConfig) {}
}

@Module({ providers: [NeedsConfig], exports: [NeedsConfig] })
class FeatureModule {}

describe('ConfigModule', () => {
  it('provides the validated RaftConfig globally, injected by type into other modules', async () => {
    const parsed = parseRaftConfig(['--id', 'n7', '--port', '7007'], {});
    if (parsed.kind !== 'config') throw new Error('bad test config');
    @Module({ imports: [ConfigModule.forRoot(parsed.config), FeatureModule] })
    class AppModule {}
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    const feature = app.get(NeedsConfig);
    expect(feature.config).toBe(parsed.config);
    expect(feature.config.id).toBe('n7');
    expect(app.get(RaftConfig).port).toBe(7007);
    await app.close();
  });
});
