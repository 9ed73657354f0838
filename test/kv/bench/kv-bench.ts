/**
 * Measures the KV state machine's hot paths and memory; prints figures, asserts nothing.
 *   npm run bench:kv              (1,000,000 keys of 100-byte values)
 *   npm run bench:kv -- 200000    (fewer keys)
 * Run with --expose-gc (the npm script does) so heap figures are taken after a full GC.
 */
import { Buffer } from 'node:buffer';
import { decodeCommand, encodeCommand } from '../../../src/kv/command-codec.js';
import type { KvCommand } from '../../../src/kv/commands.js';
import { KvStateMachine } from '../../../src/kv/kv-state-machine.js';

const keyCount = Number(process.argv[2] ?? 1_000_000);
const VALUE_BYTES = 100;
const gc = (globalThis as { gc?: () => void }).gc;

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function settle(): NodeJS.MemoryUsage {
  gc?.();
  gc?.();
  return process.memoryUsage();
}

function nsPerOp(ops: number, run: () => void): number {
  const start = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - start) / ops;
}

function benchCodec(): void {
  const commands: KvCommand[] = Array.from({ length: 1000 }, (_, i) => ({
    op: 'put',
    key: `user/${100_000 + i}`,
    value: 'v'.repeat(VALUE_BYTES),
    clientId: `client-${i % 50}`,
    seq: i,
    timeMs: 1.7e12 + i,
  }));
  const n = 500_000;
  const variants: [string, (c: KvCommand) => Uint8Array, (b: Uint8Array) => unknown][] = [
    ['binary', encodeCommand, decodeCommand],
    ['json  ', (c) => Buffer.from(JSON.stringify(c)), (b) => JSON.parse(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8'))],
  ];
  for (const [name, encode, decode] of variants) {
    for (let round = 0; round < 2; round++) {
      const encoded = commands.map(encode);
      let sink = 0;
      const enc = nsPerOp(n, () => {
        for (let i = 0; i < n; i++) sink += encode(commands[i % 1000] as KvCommand).length;
      });
      const dec = nsPerOp(n, () => {
        for (let i = 0; i < n; i++) sink += (decode(encoded[i % 1000] as Uint8Array) as { key: string }).key.length;
      });
      if (round === 1 && sink > 0) {
        console.log(`codec ${name}: encode ${enc.toFixed(0)} ns/op, decode ${dec.toFixed(0)} ns/op, ${(encoded[0] as Uint8Array).length} bytes (put, session, 100-byte value)`);
      }
    }
  }
}

function benchStateMachine(): void {
  const before = settle();
  const sm = new KvStateMachine();
  let rawBytes = 0;
  const applyNs = nsPerOp(keyCount, () => {
    for (let i = 0; i < keyCount; i++) {
      // Scattered insertion order; strings come from decode, as they do on a replica.
      const id = (i * 7_919) % keyCount;
      const key = `key/${String(id).padStart(7, '0')}`;
      const value = `${String(i).padStart(10, '0')}${'x'.repeat(VALUE_BYTES - 10)}`;
      rawBytes += key.length + value.length;
      sm.apply(i + 1, decodeCommand(encodeCommand({ op: 'put', key, value, timeMs: 1.7e12 })));
    }
  });
  const after = settle();
  const heap = after.heapUsed - before.heapUsed;
  const rss = after.rss - before.rss;
  console.log(`load ${keyCount} keys: ${applyNs.toFixed(0)} ns/put (encode + decode + apply)`);
  console.log(`memory: raw key+value bytes ${mib(rawBytes)}; heap +${mib(heap)} (${(heap / rawBytes).toFixed(2)}x raw); rss +${mib(rss)} (${(rss / rawBytes).toFixed(2)}x raw)`);

  const probes = 200_000;
  let found = 0;
  const getNs = nsPerOp(probes, () => {
    for (let i = 0; i < probes; i++) if (sm.get(`key/${String((i * 31) % keyCount).padStart(7, '0')}`) !== null) found++;
  });
  const listNs = nsPerOp(10_000, () => {
    for (let i = 0; i < 10_000; i++) found += sm.list(`key/${String((i * 97) % keyCount).padStart(7, '0').slice(0, 5)}`, 100).items.length;
  });
  console.log(`get: ${getNs.toFixed(0)} ns; list(prefix, 100): ${(listNs / 1000).toFixed(1)} us (checksum ${found})`);

  const snapshot = sm.snapshot();
  let snapshotBytes = 0;
  const snapNs = nsPerOp(1, () => {
    for (const chunk of snapshot.chunks()) snapshotBytes += chunk.length;
  });
  // Writes go on while a snapshot is streamed: the copy-on-write clone keeps it consistent.
  const chunks: Uint8Array[] = [];
  const stream = snapshot.chunks();
  for (const chunk of stream) {
    chunks.push(chunk);
    if (chunks.length === 2) for (let i = 0; i < 10_000; i++) sm.apply(sm.appliedIndex + 1, { op: 'delete', key: `key/${String(i).padStart(7, '0')}`, timeMs: 1.7e12 });
  }
  const copy = new KvStateMachine();
  const restoreNs = nsPerOp(1, () => copy.restore(chunks));
  console.log(`snapshot: ${mib(snapshotBytes)} (${(snapshotBytes / rawBytes).toFixed(2)}x raw) encoded in ${(snapNs / 1e6).toFixed(0)} ms; restored in ${(restoreNs / 1e6).toFixed(0)} ms; restored keys ${copy.keyCount} (live ${sm.keyCount})`);
}

benchCodec();
benchStateMachine();
