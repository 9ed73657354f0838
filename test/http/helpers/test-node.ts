/**
 * Starts the node's HTTP surface (KvHttpModule, AdminModule, MetricsModule, Swagger) around a
 * FakeKvNode on a free loopback port, as main.ts wires the real one.
 */
import 'reflect-metadata';
import { Global, type INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigModule } from '../../../src/config/config.module.js';
import { parseRaftConfig } from '../../../src/config/parse-args.js';
import type { RaftConfig } from '../../../src/config/raft-config.js';
import { KvNode } from '../../../src/consensus/kv-node.port.js';
import { AdminModule } from '../../../src/admin/admin.module.js';
import { KvHttpModule } from '../../../src/kv/kv-http.module.js';
import { MetricsModule } from '../../../src/metrics/metrics.module.js';
import { setupSwagger } from '../../../src/http/swagger.js';
import { FakeKvNode } from './fake-kv-node.js';

export interface TestNode {
  readonly url: string;
  readonly node: FakeKvNode;
  readonly config: RaftConfig;
  readonly app: INestApplication;
  close(): Promise<void>;
}

/** `flags`: extra command-line flags (e.g. `--cluster-token s3cret`). */
export async function startTestNode(id: string, flags: string[] = [], peers = 'zz=http://127.0.0.1:1'): Promise<TestNode> {
  const parsed = parseRaftConfig(['--id', id, '--port', '7999', '--peers', peers, ...flags], {});
  if (parsed.kind !== 'config') throw new Error(`bad test config: ${parsed.kind === 'error' ? parsed.message : 'help'}`);
  const config = parsed.config;
  const node = new FakeKvNode(id);

  @Global()
  @Module({ providers: [{ provide: KvNode, useValue: node }], exports: [KvNode] })
  class FakeConsensusModule {}

  @Module({ imports: [ConfigModule.forRoot(config), MetricsModule, FakeConsensusModule, KvHttpModule, AdminModule] })
  class TestAppModule {}

  const app = await NestFactory.create(TestAppModule, { logger: false });
  setupSwagger(app);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const url = `http://127.0.0.1:${address.port}`;
  node.urls.set(id, url);
  return { url, node, config, app, close: () => app.close() };
}

/** fetch + JSON body, for terse tests. */
export async function call(
  url: string,
  init: { method?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
  // The body is whatever JSON the server sent; tests assert on its fields.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ status: number; headers: Headers; body: any; text: string }> {
  const headers: Record<string, string> = { ...init.headers };
  let body: string | undefined;
  if (init.rawBody !== undefined) body = init.rawBody;
  else if (init.body !== undefined) body = JSON.stringify(init.body);
  if (body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method: init.method ?? 'GET', headers, body });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}
