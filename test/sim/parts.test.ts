import { describe, expect, it } from '@jest/globals';
import type { Entry, Message } from '../../src/consensus/core/messages.js';
import { Prng } from '../../src/consensus/core/prng.js';
import { MemoryDurableStore } from './durable-store.js';
import { encodeCommand, KvModel, type KvWriteOp } from '../../src/history-checks/kv-model.js';
import { SimNetwork, type Envelope } from './network.js';

/** The simulator's own parts: the KV model's sessions, the durable store, the network. */

function command(clientId: string, seq: number, op: KvWriteOp): Uint8Array {
  return encodeCommand({ clientId, seq, op });
}

describe('KV model with sessions (SPEC 2, exactly-once)', () => {
  it('answers a retried write with its first answer and does not apply it again', () => {
    const kv = new KvModel();
    const first = kv.apply(command('c1', 1, { kind: 'append', key: 'k', value: 'a' }));
    kv.apply(command('c2', 1, { kind: 'append', key: 'k', value: 'b' }));
    const retry = kv.apply(command('c1', 1, { kind: 'append', key: 'k', value: 'a' }));
    expect(first).toEqual({ result: { kind: 'append', value: 'a' }, deduplicated: false });
    expect(retry).toEqual({ result: { kind: 'append', value: 'a' }, deduplicated: true });
    expect(kv.read('k')).toBe('ab');
  });

  it('refuses a seq older than the latest applied one', () => {
    const kv = new KvModel();
    kv.apply(command('c1', 1, { kind: 'put', key: 'k', value: 'v1' }));
    kv.apply(command('c1', 2, { kind: 'put', key: 'k', value: 'v2' }));
    expect(kv.apply(command('c1', 1, { kind: 'put', key: 'k', value: 'v1' })).result).toEqual({ kind: 'stale_sequence' });
    expect(kv.read('k')).toBe('v2');
  });

  it('implements delete and compare-and-set', () => {
    const kv = new KvModel();
    expect(kv.apply(command('c1', 1, { kind: 'cas', key: 'k', expected: 'x', value: 'y' })).result).toEqual({
      kind: 'cas',
      succeeded: false,
      value: null,
    });
    expect(kv.apply(command('c1', 2, { kind: 'cas', key: 'k', expected: null, value: 'y' })).result).toEqual({
      kind: 'cas',
      succeeded: true,
      value: 'y',
    });
    expect(kv.apply(command('c1', 3, { kind: 'delete', key: 'k' })).result).toEqual({ kind: 'delete', deleted: true });
    expect(kv.apply(command('c1', 4, { kind: 'delete', key: 'k' })).result).toEqual({ kind: 'delete', deleted: false });
    expect(kv.read('k')).toBeNull();
  });

  it('carries sessions through a snapshot, and equal states give equal bytes', () => {
    const a = new KvModel();
    a.apply(command('c1', 1, { kind: 'put', key: 'x', value: '1' }));
    a.apply(command('c2', 1, { kind: 'put', key: 'y', value: '2' }));
    const b = new KvModel();
    b.apply(command('c2', 1, { kind: 'put', key: 'y', value: '2' }));
    b.apply(command('c1', 1, { kind: 'put', key: 'x', value: '1' }));
    expect(Buffer.from(a.snapshot()).equals(Buffer.from(b.snapshot()))).toBe(true);

    const restored = new KvModel();
    restored.restore(a.snapshot());
    const retry = restored.apply(command('c1', 1, { kind: 'put', key: 'x', value: '1' }));
    expect(retry.deduplicated).toBe(true);
  });
});

const entry = (index: number, term: number): Entry => ({ index, term, type: 'noop', data: new Uint8Array() });
const config = { voters: ['n1', 'n2', 'n3'] };

describe('in-memory durable store', () => {
  it('truncates the suffix an append overwrites', () => {
    const store = new MemoryDurableStore();
    store.appendEntries([entry(1, 1), entry(2, 1), entry(3, 1)]);
    store.appendEntries([entry(2, 2)]);
    expect(store.lastIndex()).toBe(2);
    expect(store.term(2)).toBe(2);
    expect(() => store.appendEntries([entry(5, 2)])).toThrow(/outside/);
  });

  it('keeps the entries after a compaction point and after a matching received snapshot', () => {
    const store = new MemoryDurableStore();
    store.appendEntries([entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2)]);
    store.compact({ meta: { index: 2, term: 1, config }, data: new Uint8Array([1]) });
    expect(store.entry(2)).toBeUndefined();
    expect(store.term(2)).toBe(1);
    expect(store.load().entries.map((e) => e.index)).toEqual([3, 4]);
    store.installSnapshot({ meta: { index: 3, term: 2, config }, data: new Uint8Array([2]) });
    expect(store.load().entries.map((e) => e.index)).toEqual([4]);
  });

  it('discards the whole log for a received snapshot it does not match (Raft fig. 13)', () => {
    const store = new MemoryDurableStore();
    store.appendEntries([entry(1, 1), entry(2, 1), entry(3, 1)]);
    store.installSnapshot({ meta: { index: 2, term: 3, config }, data: new Uint8Array([9]) });
    expect(store.load().entries).toEqual([]);
    expect(store.lastIndex()).toBe(2);
    expect(store.snapshot()?.data).toEqual(new Uint8Array([9]));
  });
});

function heartbeat(from: string, to: string, context: number): Envelope {
  const message: Message = { type: 'Heartbeat', version: 1, from, to, term: 1, commit: 0, context };
  return { message, senderIncarnation: 0 };
}

describe('simulated network', () => {
  it('delivers within the delay bounds, reorders, and replays the same way for a seed', () => {
    const deliveries = (seed: number): string[] => {
      const network = new SimNetwork(new Prng(seed));
      network.setFaults({ dropRate: 0, duplicateRate: 0, delayTicksMin: 1, delayTicksMax: 5 });
      for (let i = 0; i < 20; i++) network.send(heartbeat('n1', 'n2', i), 0);
      const order: string[] = [];
      for (let tick = 0; tick <= 5; tick++) {
        for (const envelope of network.takeDue(tick).delivered) {
          if (envelope.message.type === 'Heartbeat') order.push(`${tick}:${envelope.message.context}`);
        }
      }
      return order;
    };
    const order = deliveries(1);
    expect(order).toHaveLength(20);
    expect(order.every((d) => Number(d.split(':')[0]) >= 1)).toBe(true);
    const contexts = order.map((d) => Number(d.split(':')[1]));
    expect(contexts).not.toEqual([...contexts].sort((a, b) => a - b));
    expect(deliveries(1)).toEqual(order);
  });

  it('drops and duplicates at the configured rates', () => {
    const network = new SimNetwork(new Prng(3));
    network.setFaults({ dropRate: 0.5, duplicateRate: 0.5, delayTicksMin: 1, delayTicksMax: 1 });
    for (let i = 0; i < 1000; i++) network.send(heartbeat('n1', 'n2', i), 0);
    expect(network.stats.dropped).toBeGreaterThan(400);
    expect(network.stats.dropped).toBeLessThan(600);
    expect(network.stats.duplicated).toBeGreaterThan(200);
    expect(network.takeDue(1).delivered).toHaveLength(1000 - network.stats.dropped + network.stats.duplicated);
  });

  it('blocks partitioned links, one way or both, including messages already in flight', () => {
    const network = new SimNetwork(new Prng(4));
    network.setFaults({ dropRate: 0, duplicateRate: 0, delayTicksMin: 2, delayTicksMax: 2 });
    network.blockLink('n1', 'n2');
    expect(network.send(heartbeat('n1', 'n2', 1), 0)).toBe('partition');
    expect(network.send(heartbeat('n2', 'n1', 2), 0)).toBeNull();
    network.heal();
    expect(network.send(heartbeat('n1', 'n3', 3), 0)).toBeNull();
    network.partition([['n1'], ['n2', 'n3']]);
    const { delivered, lost } = network.takeDue(2);
    expect(delivered).toHaveLength(0);
    expect(lost.map((e) => e.message.from)).toEqual(['n2', 'n1']);
  });
});
