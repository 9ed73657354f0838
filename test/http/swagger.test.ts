/**
 * SPEC 2: Swagger UI at /docs, OpenAPI JSON at /docs-json; every operation documented with an
 * example of its answer and of its errors, and no fixed server, so "Try it out" targets the
 * node that served the page.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call, startTestNode, type TestNode } from './helpers/test-node.js';

let n: TestNode;

beforeAll(async () => {
  n = await startTestNode('n1');
});
afterAll(async () => {
  await n.close();
});

interface Operation {
  summary?: string;
  responses: Record<string, { content?: Record<string, { example?: unknown; schema?: unknown }> }>;
  requestBody?: { content: Record<string, { examples?: Record<string, unknown>; schema?: unknown }> };
  security?: unknown[];
}

const EXPECTED_OPERATIONS = [
  'get /kv',
  'get /kv/{key}',
  'put /kv/{key}',
  'delete /kv/{key}',
  'post /kv/{key}/append',
  'post /kv/{key}/cas',
  'get /admin/status',
  'get /admin/cluster',
  'post /admin/snapshot',
  'post /admin/transfer-leadership',
  'get /health',
  'get /health/ready',
  'get /metrics',
];

describe('Swagger', () => {
  it('serves the UI at /docs', async () => {
    const r = await call(`${n.url}/docs`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/text\/html/);
    expect(r.text).toContain('swagger-ui');
  });

  it('documents exactly the SPEC operations, each with a summary and an example answer', async () => {
    const r = await call(`${n.url}/docs-json`);
    expect(r.status).toBe(200);
    const doc = r.body as { servers?: unknown[]; paths: Record<string, Record<string, Operation>> };
    // No fixed server: Swagger UI sends "Try it out" to the serving node's own origin.
    expect(doc.servers ?? []).toEqual([]);
    const operations = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([m, op]) => [`${m} ${path}`, op] as const));
    expect(operations.map(([name]) => name).sort()).toEqual([...EXPECTED_OPERATIONS].sort());
    for (const [name, op] of operations) {
      expect({ name, summary: typeof op.summary }).toEqual({ name, summary: 'string' });
      const ok = op.responses['200'];
      expect({ name, ok: ok !== undefined }).toEqual({ name, ok: true });
      const examples = Object.values(ok!.content ?? {}).map((c) => c.example);
      expect({ name, hasExample: examples.some((e) => e !== undefined) }).toEqual({ name, hasExample: true });
    }
  });

  it('lists the error answers with SPEC 2 bodies, request examples, and the token on admin actions', async () => {
    const doc = (await call(`${n.url}/docs-json`)).body as { paths: Record<string, Record<string, Operation>> };
    const put = doc.paths['/kv/{key}']!.put!;
    for (const status of ['400', '409', '413', '503', '504']) {
      const example = put.responses[status]?.content?.['application/json']?.example as { error?: string } | undefined;
      expect({ status, error: typeof example?.error }).toEqual({ status, error: 'string' });
    }
    expect(Object.keys(put.requestBody!.content['application/json']!.examples ?? {})).toEqual(['plain', 'exactlyOnce']);
    const cas = doc.paths['/kv/{key}/cas']!.post!;
    expect(Object.keys(cas.requestBody!.content['application/json']!.examples ?? {})).toContain('createIfAbsent');
    expect(doc.paths['/admin/snapshot']!.post!.security).toEqual([{ 'cluster-token': [] }]);
    expect(doc.paths['/admin/status']!.get!.security).toBeUndefined();
  });
});
