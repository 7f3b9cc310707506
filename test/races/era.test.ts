// Each scheme models one kernel era. vma_rwsem (6.4-6.13) read /proc/pid/maps and did
// MADV_DONTNEED under the mmap read lock: with a writer holding the mmap lock, both wait. The
// per-VMA versions (v6.16 madvise, v6.17 maps walk) belong to vma_refcnt, or to vma_rwsem only
// when backported by name; they finish under the VMA lock while the writer holds the mmap lock.

import { describe, expect, it } from 'vitest';
import { do_mmap, handle_user_fault, PROT_READ, PROT_WRITE } from '../../src/ops/index.js';
import { mmap_write_lock, mmap_write_unlock } from '../../src/schemes/mmap.js';
import { MM } from '../../src/shm/layout/index.js';
import { rwsem_wait_list } from '../../src/sync/rwsem.js';
import { type Backport, mm_create, world_create } from '../../src/workload/world.js';
import { runThreads, until } from '../helpers/threads.js';

describe.each([
  ['vma_rwsem', [], false],
  ['vma_rwsem', ['maps', 'madvise'], true],
  ['vma_refcnt', [], true],
] as const)('%s with backports %j: madvise and maps', (name, backports, perVma) => {
  it(perVma ? 'finish while a writer holds the mmap lock' : 'wait for the mmap lock', async () => {
    const { sab } = world_create({
      scheme: name,
      maxVmas: 64,
      frames: 64,
      maxTasks: 4,
      backports: backports as readonly Backport[],
    });
    const mm = mm_create();
    expect(do_mmap(mm, 100, 8, PROT_READ | PROT_WRITE)).toBe(100);
    expect(handle_user_fault(mm, 100, true)).toBe(0);
    mmap_write_lock(mm);
    const run = runThreads(sab, 'test/threads/era', [
      { taskId: 1, fn: 'madvise_then_maps', args: { mm, addr: 100 } },
    ]);
    if (perVma) {
      expect(await run).toEqual([[0, 1]]);
      mmap_write_unlock(mm);
    } else {
      await until(
        () => rwsem_wait_list(mm + MM.mmap_lock).length === 1,
        'madvise queues on the mmap lock',
        4000,
      );
      mmap_write_unlock(mm);
      expect(await run).toEqual([[0, 1]]);
    }
  });
});
