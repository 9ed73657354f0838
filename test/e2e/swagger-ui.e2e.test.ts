/**
 * The Swagger UI (SPEC 2: "Swagger UI is served at /docs") in a real browser, Debian's
 * chromium driven by playwright-core, against a real 3-node cluster. The page is opened on a
 * follower: a PUT then a GET through "Try it out" must go to that node (the document lists no
 * server, so requests go to the page's origin), which forwards them to the leader and relays
 * the answers. The UI's assets are bundled with the service (swagger-ui-dist), so the page
 * needs no outside network: every request it makes goes to the node that served it.
 *
 * Without /usr/bin/chromium the file skips locally, saying why, and fails in CI.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Locator, Page } from 'playwright-core';
import { browserMissingReason, inCi, launchChromium } from './helpers/browser.js';
import { buildService } from './helpers/build.js';
import { type ClusterNode, LocalCluster } from './helpers/cluster.js';

const TOKEN = 'e2e-cluster-token';
/** Generous: the machine may be loaded by other test suites. */
const ELECTION_DEADLINE_MS = 30_000;
/** Per browser action and per wait for an answer in the page. */
const PAGE_ACTION_TIMEOUT_MS = 15_000;
const REQUEST_TIMEOUT_MS = 10_000;

/** A "/" and a space: Swagger UI must percent-encode the path parameter (SPEC 2). */
const KEY = 'docs/swagger ui';
const VALUE = `written through Swagger UI by process ${process.pid}`;

const missing = browserMissingReason();
if (missing !== null && !inCi) {
  console.warn(`swagger-ui.e2e.test.ts skipped: ${missing}. In CI (CI=true) this fails instead.`);
}
const describeInBrowser = missing !== null && !inCi ? describe.skip : describe;

let cluster: LocalCluster | undefined;
let browser: Browser | undefined;
let page: Page;
let follower: ClusterNode;
let leaderId: string;
/** Every URL the page requested, to show it used nothing but the node that served it. */
const requestedUrls: string[] = [];

/** What Swagger UI shows of a live answer under "Server response". */
interface ShownAnswer {
  requestUrl: string;
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Map<string, string>;
}

describeInBrowser('the Swagger UI of a 3-node cluster, in chromium', () => {
  beforeAll(async () => {
    if (missing !== null) throw new Error(`the Swagger UI browser test cannot run: ${missing} (CI=true, so it may not skip)`);
    const [mainJs, launched] = await Promise.all([buildService(), launchChromium()]);
    browser = launched;
    cluster = await LocalCluster.start(mainJs, { clusterToken: TOKEN });
    const leader = await cluster.waitForLeader(ELECTION_DEADLINE_MS);
    leaderId = leader.id;
    follower = cluster.nodes.find((n) => n.id !== leader.id)!;
    page = await browser.newPage();
    page.setDefaultTimeout(PAGE_ACTION_TIMEOUT_MS);
    page.on('request', (request) => requestedUrls.push(request.url()));
  }, 360_000);

  afterAll(async () => {
    await browser?.close();
    await cluster?.destroy();
  }, 60_000);

  it('serves /docs from the node itself, with every KV operation listed', async () => {
    await withScreenshotOnFailure('load', async () => {
      const response = await page.goto(`${follower.url}/docs`);
      expect(response?.status()).toBe(200);
      expect(await page.title()).toBe('raft-kv API');
      for (const operationId of ['list', 'get', 'put', 'append', 'remove', 'cas']) {
        await page.locator(`#operations-kv-KvController_${operationId}`).waitFor();
      }
    });
  });

  it('writes a key with PUT through "Try it out": sent to the serving node, answered by the leader', async () => {
    const answer = await withScreenshotOnFailure('put', async () => {
      const operation = await tryItOut('KvController_put');
      await operation.locator('tr[data-param-name="key"] input').fill(KEY);
      await operation.locator('textarea.body-param__text').fill(JSON.stringify({ value: VALUE }));
      return execute(operation);
    });
    expect(answer.requestUrl).toBe(`${follower.url}/kv/${encodeURIComponent(KEY)}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ key: KEY, value: VALUE, index: expect.any(Number) });
    // The follower relays the leader's answer, headers included: the leader answered.
    expect(answer.headers.get('x-raft-node')).toBe(leaderId);
    expect(answer.headers.get('x-raft-leader')).toBe(leaderId);
  });

  it('reads it back with GET through "Try it out" and sees the value', async () => {
    const answer = await withScreenshotOnFailure('get', async () => {
      const operation = await tryItOut('KvController_get');
      await operation.locator('tr[data-param-name="key"] input').fill(KEY);
      await operation.locator('tr[data-param-name="consistency"] select').selectOption('linearizable');
      return execute(operation);
    });
    expect(answer.requestUrl).toBe(`${follower.url}/kv/${encodeURIComponent(KEY)}?consistency=linearizable`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ key: KEY, value: VALUE, index: expect.any(Number) });
    // A linearizable read on a follower is forwarded to the leader too.
    expect(answer.headers.get('x-raft-node')).toBe(leaderId);
  });

  it('the HTTP API of every node agrees with what the page wrote', async () => {
    for (const node of cluster!.nodes) {
      const r = await fetch(`${node.url}/kv/${encodeURIComponent(KEY)}`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      expect({ node: node.id, status: r.status, body: await r.json() }).toEqual({
        node: node.id,
        status: 200,
        body: { key: KEY, value: VALUE, index: expect.any(Number) },
      });
    }
  });

  it('the page requested nothing but the node that served it (assets bundled, no outside network)', () => {
    expect(requestedUrls.length).toBeGreaterThan(0);
    expect(requestedUrls.filter((url) => new URL(url).origin !== follower.url)).toEqual([]);
  });
});

/**
 * Expands an operation and puts it in "Try it out" mode. The service opens operations ready to
 * try (swagger.ts: tryItOutEnabled), so this cancels that mode and enters it again through the
 * button a user presses: both the default and the button are exercised.
 */
async function tryItOut(operationId: string): Promise<Locator> {
  const operation = page.locator(`#operations-kv-${operationId}`);
  await operation.locator('.opblock-summary').click();
  await operation.getByRole('button', { name: 'Cancel' }).click();
  await operation.getByRole('button', { name: 'Try it out' }).click();
  await operation.getByRole('button', { name: 'Execute' }).waitFor();
  return operation;
}

/** Clicks "Execute" and reads the answer the page shows. */
async function execute(operation: Locator): Promise<ShownAnswer> {
  await operation.getByRole('button', { name: 'Execute' }).click();
  const live = operation.locator('.live-responses-table tr.response');
  await live.waitFor();
  const bodyText = await live.locator('.response-col_description .highlight-code pre').innerText();
  const headers = new Map<string, string>();
  for (const line of await live.locator('.headerline').allInnerTexts()) {
    const separator = line.indexOf(':');
    if (separator > 0) headers.set(line.slice(0, separator).trim().toLowerCase(), line.slice(separator + 1).trim());
  }
  return {
    requestUrl: (await operation.locator('.request-url pre').innerText()).trim(),
    status: Number((await live.locator('.response-col_status').innerText()).trim()),
    body: JSON.parse(bodyText),
    headers,
  };
}

/** Runs a step in the page; on failure keeps a screenshot (named in the error) to show what the page was. */
async function withScreenshotOnFailure<T>(step: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const path = join(tmpdir(), `raft-kv-swagger-ui-${step}-${Date.now()}.png`);
    const saved = await page.screenshot({ path, fullPage: true }).then(
      () => `screenshot: ${path}`,
      (screenshotError: unknown) => `no screenshot: ${String(screenshotError)}`,
    );
    throw new Error(`Swagger UI step "${step}" failed (${saved}): ${String(error)}\n${cluster?.describe(20) ?? ''}`, { cause: error });
  }
}
