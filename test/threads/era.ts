// Thread bodies for test/races/era.test.ts.

import { do_madvise_dontneed, read_maps } from '../../src/ops/index.js';
import { world_bind } from '../../src/workload/world.js';

/** MADV_DONTNEED one page, then read the maps through per-VMA locks where the era allows. */
export function madvise_then_maps(a: { mm: number; addr: number }): number[] {
  world_bind();
  return [do_madvise_dontneed(a.mm, a.addr, 1), read_maps(a.mm, true)];
}
