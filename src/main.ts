// First: the heap settings apply to everything the other imports allocate.
import './heap-growth.js';
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module.js';
import { parseRaftConfig } from './config/parse-args.js';
import { LineLogger } from './consensus/line-logger.js';
import { PeerPortListener } from './consensus/transport/peer-port-listener.js';
import { setupSwagger } from './http/swagger.js';

/**
 * `node dist/main.js --id n1 --port 7001 --peers n2=http://...,n3=http://...` (SPEC 1).
 * A bad flag: one line naming it, exit 2, nothing written. A node that cannot start (data dir
 * locked by another process, damaged storage, port in use): one line saying why, exit 1.
 * SIGTERM/SIGINT: stop accepting, finish the Ready in flight, flush, release the lock, exit 0.
 */

/** Peers keep connections open; longer than their client's 30 s idle timeout, so the client closes first. */
const SERVER_KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** Bounds the cleanup after a failed start: the process must exit either way. */
const CLEANUP_DEADLINE_MS = 5_000;

function startupFailed(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`raft-kv: cannot start: ${message.split('\n')[0]}\n`);
  process.exit(1);
}

/** A node that booted but could not listen: stop it cleanly (releasing the data-dir lock), then fail. */
async function closeAndFail(app: NestExpressApplication, error: unknown): Promise<never> {
  const deadline = new Promise((resolve) => setTimeout(resolve, CLEANUP_DEADLINE_MS).unref());
  await Promise.race([app.close().catch(() => undefined), deadline]);
  return startupFailed(error);
}

async function main(): Promise<void> {
  const parsed = parseRaftConfig(process.argv.slice(2), process.env);
  if (parsed.kind === 'help') {
    process.stdout.write(parsed.text + '\n');
    return;
  }
  if (parsed.kind === 'error') {
    process.stderr.write(`raft-kv: ${parsed.message}\n`);
    process.exit(2);
  }
  const config = parsed.config;
  const logger = new LineLogger(config.id);
  let app: NestExpressApplication;
  try {
    app = await NestFactory.create<NestExpressApplication>(AppModule.forConfig(config), {
      logger,
      abortOnError: false,
      // Peers hold keep-alive connections: close them on shutdown rather than wait for them.
      forceCloseConnections: true,
    });
    setupSwagger(app);
    app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
    // Boots the node (ConsensusModule): lock, recovery, restore. A failure here has released what it took.
    await app.init();
  } catch (error) {
    startupFailed(error);
  }
  try {
    app.getHttpServer().keepAliveTimeout = SERVER_KEEP_ALIVE_TIMEOUT_MS;
    await app.listen(config.port, config.host);
    await app.get(PeerPortListener).listen(app.getHttpAdapter().getInstance(), SERVER_KEEP_ALIVE_TIMEOUT_MS);
  } catch (error) {
    await closeAndFail(app, error);
  }
  logger.log(`event=listening host=${config.host} port=${config.port}${config.peerPort === null ? '' : ` peer_port=${config.peerPort}`}`, 'Main');
}

main().catch(startupFailed);
