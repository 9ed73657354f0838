import { describe, expect, it } from '@jest/globals';
import { capHeapGrowth } from '../../src/heap-growth.js';

describe('capHeapGrowth', () => {
  it('sets the cap when the operator gave none', () => {
    expect(capHeapGrowth(['--enable-source-maps'], '--max-old-space-size=4096')).toBe(true);
  });

  it("leaves an operator's own setting alone, on the command line or in NODE_OPTIONS, in either spelling", () => {
    expect(capHeapGrowth(['--heap-growing-percent=80'], '')).toBe(false);
    expect(capHeapGrowth([], '--max-old-space-size=512 --heap_growing_percent=20')).toBe(false);
  });
});
