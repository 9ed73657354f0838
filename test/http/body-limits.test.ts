/**
 * Size limits (SPEC 2): a value of exactly valueBytesMax is accepted (far above express's
 * default 100 kB body limit), one byte more is 413 too_large JSON, and so is a body beyond
 * the parser's own limit; keys over keyBytesMax are 413, empty keys cannot be addressed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { jsonBodyBytesMax } from '../../src/http/http-surface.js';
import { call, startTestNode, type TestNode } from './helpers/test-node.js';

let n: TestNode;
let small: TestNode;

beforeAll(async () => {
  n = await startTestNode('n1');
  small = await startTestNode('n2', ['--value-bytes-max', '1000', '--key-bytes-max', '16']);
});
afterAll(async () => {
  await small.close();
  await n.close();
});

describe('value and key limits', () => {
  it('accepts a value of exactly valueBytesMax (1 MiB by default) and reads it back', async () => {
    expect(n.config.valueBytesMax).toBe(1024 * 1024);
    const value = 'v'.repeat(n.config.valueBytesMax);
    const put = await call(`${n.url}/kv/big`, { method: 'PUT', body: { value } });
    expect(put.status).toBe(200);
    const get = await call(`${n.url}/kv/big`);
    expect(get.body.value.length).toBe(value.length);
  });

  it('413 too_large for a value one byte over, counting UTF-8 bytes, and writes nothing', async () => {
    const writes = n.node.writes.length;
    const over = await call(`${n.url}/kv/big2`, { method: 'PUT', body: { value: 'v'.repeat(n.config.valueBytesMax + 1) } });
    expect(over.status).toBe(413);
    expect(over.body.error).toBe('too_large');
    expect(over.body.message).toMatch(/^value: 1048577 bytes/);
    // 'é' is 2 UTF-8 bytes: half as many characters reach the limit.
    const multibyte = await call(`${small.url}/kv/m`, { method: 'PUT', body: { value: 'é'.repeat(501) } });
    expect(multibyte.status).toBe(413);
    expect((await call(`${small.url}/kv/m`, { method: 'PUT', body: { value: 'é'.repeat(500) } })).status).toBe(200);
    expect(n.node.writes.length).toBe(writes);
  });

  it('413 for an oversized cas expected value and an oversized append', async () => {
    const tooBig = 'x'.repeat(1001);
    const cas = await call(`${small.url}/kv/c/cas`, { method: 'POST', body: { expected: tooBig, value: 'v' } });
    expect(cas.status).toBe(413);
    expect(cas.body.message).toMatch(/^expected/);
    const append = await call(`${small.url}/kv/c/append`, { method: 'POST', body: { value: tooBig } });
    expect(append.status).toBe(413);
  });

  it('413 too_large JSON (not an HTML page) for a body past the parser limit; the node keeps serving', async () => {
    const limit = jsonBodyBytesMax(small.config);
    const body = JSON.stringify({ value: 'x'.repeat(limit + 1) });
    const r = await call(`${small.url}/kv/huge`, { method: 'PUT', rawBody: body });
    expect(r.status).toBe(413);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(r.body.error).toBe('too_large');
    expect(r.body.message).toMatch(/^body: \d+ bytes, over the limit of \d+ bytes/);
    expect(r.headers.get('x-raft-node')).toBe('n2');
    expect((await call(`${small.url}/health`)).status).toBe(200);
  });

  it('the parser admits the worst legal cas: two maximal values of control characters, escaped 6x', async () => {
    const worst = '\u0001'.repeat(small.config.valueBytesMax);
    const r = await call(`${small.url}/kv/ctl/cas`, { method: 'POST', body: { expected: null, value: worst } });
    expect(r.status).toBe(200);
    const swap = await call(`${small.url}/kv/ctl/cas`, { method: 'POST', body: { expected: worst, value: worst } });
    expect(swap.status).toBe(200);
    expect(swap.body.succeeded).toBe(true);
  });

  it('413 for a key over keyBytesMax in UTF-8 bytes; 400 for a key that is not valid UTF-8', async () => {
    const long = await call(`${small.url}/kv/${'k'.repeat(17)}`);
    expect(long.status).toBe(413);
    expect(long.body.message).toMatch(/^key/);
    const longPut = await call(`${small.url}/kv/${encodeURIComponent('ключ-ключ')}`, { method: 'PUT', body: { value: 'v' } });
    expect(longPut.status).toBe(413); // 9 characters, 17 bytes
    expect((await call(`${small.url}/kv/${'k'.repeat(16)}`, { method: 'PUT', body: { value: 'v' } })).status).toBe(200);
    const invalid = await call(`${small.url}/kv/%ED%A0%80`); // an encoded lone surrogate
    expect(invalid.status).toBe(400);
  });

  it('a listing whose prefix is over keyBytesMax is 413', async () => {
    const r = await call(`${small.url}/kv?prefix=${'p'.repeat(17)}`);
    expect(r.status).toBe(413);
    expect(r.body.message).toMatch(/^prefix/);
  });
});
