// index-free-no-rcu (src/sched/bugs.ts): an RCU reader loads the index root and stops; a
// writer maps a new VMA, which replaces the root (path copying). Fixed, the old nodes wait for
// a grace period and the reader finds its VMA; broken, they are freed (and poisoned) at once
// and the reader's walk hits a freed node, which the walker's node check catches.

import { afterEach, describe, expect, it } from 'vitest';
import { vt_lookup } from '../../src/mm/vma_tree.js';
import { do_mmap, PROT_READ } from '../../src/ops/index.js';
import { MM } from '../../src/shm/layout/index.js';
import { mm_create } from '../../src/workload/world.js';
import { BUG_THREADS, bugWorld, clearBugs, flags, type Variant } from '../helpers/bugs.js';
import { runThreads } from '../helpers/threads.js';

afterEach(clearBugs);

function race(variant: Variant): { run: Promise<unknown[]>; vma: number } {
  const { sab } = bugWorld('index-free-no-rcu', variant, { scheme: 'vma_refcnt' });
  const mm = mm_create();
  for (let i = 0; i < 4; i++) expect(do_mmap(mm, 100 + 10 * i, 4, PROT_READ)).toBe(100 + 10 * i);
  const vma = vt_lookup(mm + MM.mm_mt, 121);
  const f = flags();
  const run = runThreads(sab, BUG_THREADS, [
    { taskId: 1, fn: 'treeWalker', args: { f, mm, addr: 121 } },
    { taskId: 2, fn: 'treeWriter', args: { f, mm, addr: 300, pages: 4 } },
  ]);
  return { run, vma };
}

describe('bug catalogue: index-free-no-rcu', () => {
  it('fixed: the replaced nodes outlive the reader; it finds its VMA', async () => {
    const { run, vma } = race('fixed');
    const [found, mapped] = await run;
    expect(mapped).toBe(300);
    expect(found).toBe(vma);
  });

  it('broken: the reader walks a node freed under it; the node check catches it', async () => {
    await expect(race('broken').run).rejects.toThrow(/not a live node \(freed under a reader\?\)/);
  });
});
