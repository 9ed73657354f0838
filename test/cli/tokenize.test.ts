import { describe, expect, it } from '@jest/globals';
import { formatTable, printable } from '../../src/cli/format.js';
import { tokenize, TokenizeError } from '../../src/cli/tokenize.js';

describe('tokenize (REPL lines)', () => {
  it('splits on whitespace and honours quotes and backslashes like a shell', () => {
    expect(tokenize('  put  k   v ')).toEqual(['put', 'k', 'v']);
    expect(tokenize(`put 'a b' "c \\"d\\" \\\\ e"`)).toEqual(['put', 'a b', 'c "d" \\ e']);
    expect(tokenize(`put a\\ b x'y'"z"`)).toEqual(['put', 'a b', 'xyz']);
    expect(tokenize(`put k ''`)).toEqual(['put', 'k', '']);
    expect(tokenize(`put k "it's"`)).toEqual(['put', 'k', "it's"]);
    expect(tokenize('')).toEqual([]);
  });

  it('refuses unterminated quotes and a trailing backslash', () => {
    expect(() => tokenize(`put 'k`)).toThrow(TokenizeError);
    expect(() => tokenize('put "k')).toThrow(/unterminated double quote/);
    expect(() => tokenize('put k\\')).toThrow(/backslash/);
  });
});

describe('format', () => {
  it('escapes control characters so a value cannot break a table row', () => {
    expect(printable('plain ü')).toBe('plain ü');
    expect(printable('a\tb\n')).toBe('"a\\tb\\n"');
  });

  it('aligns columns by terminal width (wide characters take two) and leaves no trailing spaces', () => {
    expect(formatTable(['K', 'V'], [['🎉🎉', 'x'], ['日本', 'y'], ['abc', '']])).toBe(['K     V', '🎉🎉  x', '日本  y', 'abc'].join('\n'));
  });
});
