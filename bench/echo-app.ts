/**
 * The HTTP ceiling: a bare NestJS application on the same platform as raft-kv (express) that
 * answers `PUT /kv/:key` with the key and the JSON body's value, doing nothing else. The bench
 * loads it exactly like a raft-kv PUT; no Raft, no disk, no validation pipes, no metrics.
 *   node build/bench/bench/echo-app.js <port>
 */
import 'reflect-metadata';
import { Body, Controller, Module, Param, Put } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

@Controller('kv')
class EchoController {
  @Put(':key')
  put(@Param('key') key: string, @Body() body: { value?: unknown }): { key: string; value: unknown; index: number } {
    return { key, value: body.value, index: 0 };
  }
}

@Module({ controllers: [EchoController] })
class EchoModule {}

async function main(): Promise<void> {
  const port = Number(process.argv[2]);
  if (!Number.isInteger(port) || port <= 0) throw new Error('usage: echo-app.js <port>');
  const app = await NestFactory.create(EchoModule, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  await app.listen(port, '127.0.0.1');
  console.log(`echo app listening on 127.0.0.1:${port}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
