// 1,000,000 entries in the VMA index: the height stays logarithmic (≤ 6 with VT_MIN = 10) and
// lookups stay exact. A file of its own because the build takes 4–11 s on the shared 2-core
// machine (test/unit/vma_tree.test.ts does the same with 100,000 entries).

import { describe, expect, it } from 'vitest';
import { vt_height, vt_nodes_needed } from '../../src/mm/vma_tree.js';
import { kmem_cache_stats } from '../../src/shm/slab.js';
import { runThreads } from '../helpers/threads.js';
import { type BuildResult, setupTree } from '../threads/vma_tree.js';

describe('vma tree: 1,000,000 entries', () => {
  it('has height ≤ 6 and looks up 10,000 random addresses exactly', async () => {
    const n = 1_000_000;
    const t = setupTree({ nodes: vt_nodes_needed(n) + 40_000, sizeMiB: 128 });
    // Built in a worker: the compiled code runs several times faster than under vitest's
    // module transform (every imported call becomes a getter call there).
    const results = (await runThreads(
      t.sab,
      'test/threads/vma_tree',
      [
        {
          taskId: 1,
          fn: 'buildAndProbeThread',
          args: { root: t.root, cache: t.cache, n, batch: 10_000, probes: 10_000 },
        },
      ],
      120_000,
    )) as BuildResult[];
    const st = results[0]!;
    expect(st.entries).toBe(n);
    expect(st.wrong).toBe(0);
    // a height-7 tree needs 2 · VT_MIN^6 = 2,000,000 entries
    expect(st.height).toBeLessThanOrEqual(6);
    expect(vt_height(t.root)).toBe(st.height);
    const slab = kmem_cache_stats(t.cache);
    expect(slab.allocated).toBe(st.nodes);
    const bytes = slab.allocated * slab.objWords * 4;
    console.log(
      `1,000,000 entries: height ${st.height}, ${slab.allocated} nodes of ${slab.objWords} words = ` +
        `${(bytes / 2 ** 20).toFixed(1)} MiB, ${(bytes / n).toFixed(1)} bytes per entry`,
    );
  });
});
