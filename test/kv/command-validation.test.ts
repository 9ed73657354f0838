import { describe, expect, it } from '@jest/globals';
import { checkClientSequence, checkKey, checkPrefix, checkWrite, CLIENT_ID_BYTES_MAX } from '../../src/kv/command-validation.js';

const limits = { keyBytesMax: 8, valueBytesMax: 16 };
const T = 1;

describe('command validation before proposing (SPEC 2 errors)', () => {
  it('accepts keys and values within their byte limits, counting UTF-8 bytes', () => {
    expect(checkKey('12345678', limits)).toBeNull();
    expect(checkKey('éééé', limits)).toBeNull(); // 4 characters, 8 bytes
    expect(checkWrite({ op: 'put', key: 'k', value: '😀😀😀😀', timeMs: T }, limits)).toBeNull(); // 16 bytes
  });

  it('too_large for a key or value over its limit, naming the field and the sizes', () => {
    expect(checkKey('123456789', limits)).toEqual({ error: 'too_large', field: 'key', message: 'key: 9 bytes, over the limit of 8' });
    expect(checkKey('ééééé', limits)).toMatchObject({ error: 'too_large', message: 'key: 10 bytes, over the limit of 8' });
    expect(checkWrite({ op: 'append', key: 'k', value: 'x'.repeat(17), timeMs: T }, limits)).toMatchObject({ error: 'too_large', field: 'value' });
    expect(checkWrite({ op: 'cas', key: 'k', expected: 'x'.repeat(17), value: '', timeMs: T }, limits)).toMatchObject({ error: 'too_large', field: 'expected' });
  });

  it('bad_request for an empty key or a lone surrogate (not UTF-8)', () => {
    expect(checkKey('', limits)).toEqual({ error: 'bad_request', field: 'key', message: 'key: must not be empty' });
    expect(checkKey('a\uD800', limits)).toMatchObject({ error: 'bad_request', field: 'key' });
    expect(checkKey('\uDC00a', limits)).toMatchObject({ error: 'bad_request', field: 'key' });
    expect(checkWrite({ op: 'put', key: 'k', value: 'x\uDBFF', timeMs: T }, limits)).toMatchObject({ error: 'bad_request', field: 'value' });
    expect(checkKey('😀', limits)).toBeNull(); // a proper pair is fine
  });

  it('a prefix may be empty but not too long', () => {
    expect(checkPrefix('', limits)).toBeNull();
    expect(checkPrefix('x'.repeat(9), limits)).toMatchObject({ error: 'too_large', field: 'prefix' });
  });

  it('clientId and seq go together; seq is a non-negative integer; clientId is short', () => {
    expect(checkClientSequence(undefined, undefined)).toBeNull();
    expect(checkClientSequence('c', 0)).toBeNull();
    expect(checkClientSequence('c', undefined)).toMatchObject({ error: 'bad_request', field: 'seq' });
    expect(checkClientSequence(undefined, 1)).toMatchObject({ error: 'bad_request', field: 'clientId' });
    expect(checkClientSequence('', 1)).toMatchObject({ field: 'clientId', message: 'clientId: must not be empty' });
    expect(checkClientSequence('c', -1)).toMatchObject({ field: 'seq' });
    expect(checkClientSequence('c', 2.5)).toMatchObject({ field: 'seq' });
    expect(checkClientSequence('x'.repeat(CLIENT_ID_BYTES_MAX + 1), 1)).toMatchObject({ error: 'bad_request', field: 'clientId' });
    expect(checkWrite({ op: 'delete', key: 'k', clientId: 'c', timeMs: T }, limits)).toMatchObject({ field: 'seq' });
  });
});
