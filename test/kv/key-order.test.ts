import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { compareKeys } from '../../src/kv/key-order.js';

describe('compareKeys', () => {
  it('orders exactly as UTF-8 bytes do, for any well-formed strings (property)', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 8 });
    fc.assert(
      fc.property(text, text, (a, b) => {
        const bytes = Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
        expect(Math.sign(compareKeys(a, b))).toBe(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it('puts U+E000..U+FFFF before astral characters, unlike JavaScript <', () => {
    expect('😀' < '\uFF5E').toBe(true);
    expect(compareKeys('\uFF5E', '😀')).toBeLessThan(0);
    expect(compareKeys('\uE000', '\u{10000}')).toBeLessThan(0);
    expect(compareKeys('a', 'ab')).toBeLessThan(0);
    expect(compareKeys('same', 'same')).toBe(0);
  });
});
