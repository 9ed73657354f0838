import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { CommandDecodeError, decodeCommand, encodeCommand } from '../../src/kv/command-codec.js';
import type { KvCommand } from '../../src/kv/commands.js';

const T = 1_700_000_000_123;

const samples: KvCommand[] = [
  { op: 'put', key: 'a', value: 'b', timeMs: T },
  { op: 'put', key: 'k', value: '', timeMs: T, clientId: 'c1', seq: 0 },
  { op: 'append', key: 'log', value: 'more', timeMs: T, clientId: 'c1', seq: 7 },
  { op: 'delete', key: 'gone', timeMs: T },
  { op: 'delete', key: 'gone', timeMs: T, clientId: 'c2', seq: Number.MAX_SAFE_INTEGER },
  { op: 'cas', key: 'x', expected: null, value: 'first', timeMs: T },
  { op: 'cas', key: 'x', expected: 'first', value: 'second', timeMs: T, clientId: 'c3', seq: 2 },
  { op: 'cas', key: 'x', expected: '', value: '', timeMs: T },
  { op: 'sessions', timeMs: T, sessionTtlMs: 3_600_000, sessionsMax: 100_000 },
];

describe('command codec', () => {
  it.each(samples)('round-trips $op exactly', (command) => {
    expect(decodeCommand(encodeCommand(command))).toStrictEqual(command);
  });

  it('round-trips unicode keys and values: accents, CJK, emoji (surrogate pairs), NUL', () => {
    const command: KvCommand = { op: 'put', key: 'clé/日本/🔑\u0000', value: 'välue ✓ 𝄞 😀', timeMs: T, clientId: 'klient-ø', seq: 1 };
    const bytes = encodeCommand(command);
    expect(decodeCommand(bytes)).toStrictEqual(command);
    // Lengths are UTF-8 byte counts, not UTF-16 units: 🔑 is 2 units but 4 bytes.
    expect(bytes.length).toBeGreaterThan(3 + 8 + 8 + 4 + command.key.length + command.value.length + (command.clientId as string).length);
  });

  it('round-trips a 1 MiB value and a 4 MiB multi-byte value', () => {
    for (const value of ['v'.repeat(1024 * 1024), 'é'.repeat(2 * 1024 * 1024)]) {
      const command: KvCommand = { op: 'append', key: 'big', value, timeMs: T };
      const decoded = decodeCommand(encodeCommand(command));
      expect(decoded.op === 'append' && decoded.value === value).toBe(true);
    }
  });

  it('decodes from a view at a non-zero offset of a larger buffer (as a WAL record would be)', () => {
    const bytes = encodeCommand(samples[6] as KvCommand);
    const backing = new Uint8Array(bytes.length + 37);
    backing.set(bytes, 17);
    expect(decodeCommand(backing.subarray(17, 17 + bytes.length))).toStrictEqual(samples[6]);
  });

  it('is compact: a put with a session and a 100-byte value takes 150 bytes', () => {
    const bytes = encodeCommand({ op: 'put', key: 'user/100001', value: 'v'.repeat(100), clientId: 'client-7', seq: 42, timeMs: T });
    // 11 header + 8 seq + 4+8 clientId + 4+11 key + 4+100 value
    expect(bytes.length).toBe(150);
  });

  it('refuses to decode truncated, trailing or unknown bytes', () => {
    const bytes = encodeCommand(samples[2] as KvCommand);
    for (let cut = 0; cut < bytes.length; cut++) {
      expect(() => decodeCommand(bytes.subarray(0, cut))).toThrow(CommandDecodeError);
    }
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(() => decodeCommand(longer)).toThrow(/trailing/);
    const badVersion = Uint8Array.from(bytes);
    badVersion[0] = 99;
    expect(() => decodeCommand(badVersion)).toThrow(/version 99/);
    const badOp = Uint8Array.from(bytes);
    badOp[1] = 42;
    expect(() => decodeCommand(badOp)).toThrow(/op 42/);
  });

  it('refuses to encode a half session, a bad seq, a non-finite time or bad session limits', () => {
    expect(() => encodeCommand({ op: 'put', key: 'k', value: 'v', timeMs: T, clientId: 'c' })).toThrow(/together/);
    expect(() => encodeCommand({ op: 'put', key: 'k', value: 'v', timeMs: T, seq: 1 })).toThrow(/together/);
    expect(() => encodeCommand({ op: 'put', key: 'k', value: 'v', timeMs: T, clientId: 'c', seq: -1 })).toThrow(/seq/);
    expect(() => encodeCommand({ op: 'put', key: 'k', value: 'v', timeMs: T, clientId: 'c', seq: 1.5 })).toThrow(/seq/);
    expect(() => encodeCommand({ op: 'delete', key: 'k', timeMs: NaN })).toThrow(/timeMs/);
    expect(() => encodeCommand({ op: 'sessions', timeMs: T, sessionTtlMs: 0, sessionsMax: 1 })).toThrow(/session limits/);
  });

  it('round-trips arbitrary commands (property)', () => {
    const str = fc.string({ unit: 'grapheme', maxLength: 40 });
    const session = fc.option(fc.record({ clientId: str, seq: fc.nat({ max: Number.MAX_SAFE_INTEGER }) }), { nil: undefined });
    const timeMs = fc.double({ noNaN: true, noDefaultInfinity: true });
    const command: fc.Arbitrary<KvCommand> = fc
      .tuple(fc.constantFrom('put', 'append', 'delete', 'cas'), str, str, fc.option(str, { nil: null }), session, timeMs)
      .map(([op, key, value, expected, s, t]): KvCommand => {
        const base = s === undefined ? {} : { clientId: s.clientId, seq: s.seq };
        if (op === 'delete') return { op, key, timeMs: t, ...base };
        if (op === 'cas') return { op, key, expected, value, timeMs: t, ...base };
        return { op, key, value, timeMs: t, ...base };
      });
    fc.assert(
      fc.property(command, (c) => {
        expect(decodeCommand(encodeCommand(c))).toEqual(c);
      }),
      { numRuns: 500 },
    );
  });
});
