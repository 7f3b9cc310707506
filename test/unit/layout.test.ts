// The size figures DESIGN.md promises: a VMA fits one cache line with padding off, and with
// padding on its reference count and lock each own a line (192 bytes, as in v6.15).

import { afterAll, describe, expect, it } from 'vitest';
import {
  configureLayout,
  describeLayout,
  LINE_WORDS,
  MM,
  VMA,
  WORD_BYTES,
} from '../../src/shm/layout/index.js';

afterAll(() => configureLayout({ padding: true }));

describe('vm_area_struct', () => {
  it('takes at most 64 bytes with padding off', () => {
    configureLayout({ padding: false });
    expect(VMA.SIZE * WORD_BYTES).toBeLessThanOrEqual(64);
  });

  it('keeps vm_refcnt and vm_lock on cache lines of their own with padding on', () => {
    configureLayout({ padding: true });
    expect(VMA.SIZE * WORD_BYTES).toBe(192);
    expect(VMA.vm_refcnt % LINE_WORDS).toBe(0);
    expect(VMA.vm_lock % LINE_WORDS).toBe(0);
    const others = describeLayout().find((s) => s.name === 'vm_area_struct')!;
    for (const [f, off] of Object.entries(others.fields)) {
      if (f === 'vm_refcnt' || f === 'vm_lock') continue;
      expect(Math.floor(off / LINE_WORDS), f).not.toBe(Math.floor(VMA.vm_refcnt / LINE_WORDS));
      expect(Math.floor(off / LINE_WORDS), f).not.toBe(Math.floor(VMA.vm_lock / LINE_WORDS));
    }
    expect(MM.mmap_lock % LINE_WORDS).toBe(0);
    expect(MM.mm_lock_seq % LINE_WORDS).toBe(0);
  });
});
