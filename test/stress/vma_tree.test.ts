// The VMA index under real concurrency: 1 writer and 4 readers on the 2 cores. The writer keeps
// rewriting a tree that always covers [0, SPAN) (splits, merges, moved boundaries, several
// entries replaced at once, each as one transaction); readers under rcu_read_lock() must always
// find an entry containing the page they look up, with a sane stored range, and whole-tree walks
// must find no gap. The node slab poisons freed nodes, so a node freed before its grace period
// shows up as a poisoned read (counted apart) or a wrong answer.

import { describe, expect, it } from 'vitest';
import { vt_check, vt_for_each } from '../../src/mm/vma_tree.js';
import { arena_alloc } from '../../src/shm/arena.js';
import { kmem_cache_stats } from '../../src/shm/slab.js';
import { rcu_barrier } from '../../src/sync/rcu.js';
import { runThreads } from '../helpers/threads.js';
import { coverSpan, type ReaderResult, setupTree, type WriterResult } from '../threads/vma_tree.js';

const SPAN = 1 << 16;
const WRITER_OPS = 20_000;
const READERS = 4;
const MIN_LOOKUPS = 50_000;

describe('vma tree: lock-free readers beside a writer', () => {
  it('readers never see a missing, wrong or freed entry; every replaced node is freed', async () => {
    const t = setupTree({ nodes: 50_000, sizeMiB: 32, maxTasks: 8, poison: true });
    const bounds = coverSpan(t, SPAN, 24, 99);
    const done = arena_alloc(1, 16, 'done flag');
    const height0 = vt_check(t.root).height;
    expect(height0).toBeGreaterThanOrEqual(3);

    const results = await runThreads(
      t.sab,
      'test/threads/vma_tree',
      [
        {
          taskId: 1,
          fn: 'writer',
          args: { root: t.root, cache: t.cache, done, bounds, ops: WRITER_OPS, seed: 7 },
        },
        ...Array.from({ length: READERS }, (_, k) => ({
          taskId: 2 + k,
          fn: 'reader',
          args: { root: t.root, done, span: SPAN, minLookups: MIN_LOOKUPS, seed: 100 + k },
        })),
      ],
      60_000,
    );
    const w = results[0] as WriterResult;
    const readers = results.slice(1) as ReaderResult[];
    const lookups = readers.reduce((s, r) => s + r.lookups, 0);
    const walks = readers.reduce((s, r) => s + r.walks, 0);
    console.log(
      `writer: ${w.ops} transactions (${w.removed} removes, ${w.inserted} inserts); ` +
        `readers: ${lookups} lookups, ${walks} full walks; failures ` +
        readers.map((r) => `${r.failures}/${r.walkFailures}/${r.poisoned}`).join(' ') +
        (readers.some((r) => r.first !== '')
          ? `; first: ${readers.find((r) => r.first !== '')!.first}`
          : ''),
    );

    expect(w.ops).toBe(WRITER_OPS);
    for (const r of readers) {
      expect(r.lookups).toBeGreaterThanOrEqual(MIN_LOOKUPS);
      expect({
        task: r.task,
        failures: r.failures,
        walkFailures: r.walkFailures,
        poisoned: r.poisoned,
        first: r.first,
      }).toEqual({ task: r.task, failures: 0, walkFailures: 0, poisoned: 0, first: '' });
    }

    // The published tree is exactly the writer's record.
    const walked = [0];
    vt_for_each(t.root, 0, SPAN, (_s, e) => walked.push(e));
    expect(walked).toEqual(w.bounds);
    const st = vt_check(t.root);
    expect(st.entries).toBe(w.bounds.length - 1);

    // The writer ran rcu_barrier() before returning, and the main thread queued nothing since:
    // every replaced node is back in the slab, and only the live tree's nodes are allocated.
    rcu_barrier();
    expect(kmem_cache_stats(t.cache).allocated).toBe(st.nodes);
  });
});
