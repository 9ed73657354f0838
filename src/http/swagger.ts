/**
 * Swagger UI at `/docs`, the OpenAPI JSON at `/docs-json` (SPEC 2). The document lists no
 * server, so Swagger UI's "Try it out" sends requests to the node that served the page.
 * Call once on the created application, before `listen()`.
 */
import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { CLUSTER_TOKEN_SCHEME } from '../admin/admin.controller.js';

export const SWAGGER_UI_PATH = 'docs';
export const SWAGGER_JSON_PATH = 'docs-json';

const DESCRIPTION = [
  'A fault-tolerant, strongly consistent key-value store replicated with Raft.',
  '',
  'Any node answers: a follower forwards writes and linearizable reads to the leader and relays the answer.',
  'Every answer carries `X-Raft-Node` (the node that answered), `X-Raft-Leader` and `X-Raft-Term`.',
  'Errors are JSON `{error, message, leaderId?}`; a 503 carries `Retry-After` and means nothing was applied;',
  'a 504 means the outcome is unknown: retry with the same `clientId` and `seq` for exactly-once.',
].join('\n');

export function setupSwagger(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('raft-kv')
    .setDescription(DESCRIPTION)
    .setVersion('0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'The --cluster-token of the cluster' }, CLUSTER_TOKEN_SCHEME)
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup(SWAGGER_UI_PATH, app, document, {
    jsonDocumentUrl: SWAGGER_JSON_PATH,
    customSiteTitle: 'raft-kv API',
    swaggerOptions: { tryItOutEnabled: true, displayRequestDuration: true },
  });
}
