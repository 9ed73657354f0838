/**
 * The order of keys in listings and snapshots: by Unicode code point, which is the order of
 * their UTF-8 bytes (what an etcd user sees). JavaScript's `<` compares UTF-16 code units
 * instead, which differs when a character above U+FFFF (a surrogate pair) meets one in
 * U+E000..U+FFFF; this fixes exactly that case and is otherwise a plain code-unit compare.
 * Keys with a common prefix form one contiguous run in this order, which `list` relies on.
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // Both at or above U+D800: a surrogate must sort after U+E000..U+FFFF.
      if (x >= 0xd800 && y >= 0xd800) return codePointRank(x) - codePointRank(y);
      return x - y;
    }
  }
  return a.length - b.length;
}

/** Maps U+D800..U+FFFF code units so surrogates (astral code points) rank above U+E000..U+FFFF. */
function codePointRank(unit: number): number {
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}
