import { describe, expect, it } from 'vitest';
import {
  InvariantViolation,
  LayoutError,
  LockStateError,
  SlabExhausted,
} from '../../src/errors.js';
import { atomic_read, atomic_set } from '../../src/sched/atomics.js';
import { task_attach } from '../../src/sched/task.js';
import { arena_alloc, createArena } from '../../src/shm/arena.js';
import { KMEM_CACHE, KMEM_LIST, KMEM_POISON_FREE, LINE_WORDS } from '../../src/shm/layout/index.js';
import {
  kmem_cache_alloc,
  kmem_cache_alloc_or_throw,
  kmem_cache_create,
  kmem_cache_for_each_allocated,
  kmem_cache_free,
  kmem_cache_name,
  kmem_cache_stats,
  slab_exhausted,
} from '../../src/shm/slab.js';
import { kmem_cache_verify } from '../../src/shm/slab_check.js';
import { runThreads } from '../helpers/threads.js';

function arena(padding = true, maxTasks = 8): SharedArrayBuffer {
  const a = createArena({ sizeMiB: 4, maxTasks, padding });
  task_attach(0);
  return a.sab;
}

function allocAll(c: number): number[] {
  const out: number[] = [];
  for (let p = kmem_cache_alloc(c); p !== 0; p = kmem_cache_alloc(c)) out.push(p);
  return out;
}

describe('kmem_cache', () => {
  it('hands out exactly capacity distinct objects, then reports the exact error', () => {
    arena();
    const c = kmem_cache_create('vma', 12, 40, { knob: '--max-vmas' });
    const objs = allocAll(c);
    expect(objs.length).toBe(40);
    expect(new Set(objs).size).toBe(40);
    for (const p of objs) expect(p % 16).toBe(0); // a cache line with padding on
    expect(kmem_cache_alloc(c)).toBe(0);
    expect(() => kmem_cache_alloc_or_throw(c)).toThrow(SlabExhausted);
    expect(() => kmem_cache_alloc_or_throw(c)).toThrow(
      /^vma slab full: 40 objects; raise --max-vmas$/,
    );
    expect(slab_exhausted(c).message).toBe('vma slab full: 40 objects; raise --max-vmas');
    expect(kmem_cache_stats(c)).toEqual({
      name: 'vma',
      capacity: 40,
      allocated: 40,
      free: 0,
      objWords: 12,
    });
  });

  it('packs objects with padding off and names a cache without a knob', () => {
    arena(false);
    const c = kmem_cache_create('maple node', 5, 3);
    const [a, b, d] = allocAll(c);
    expect(b! - a!).toBe(5);
    expect(d! - b!).toBe(5);
    expect(slab_exhausted(c).message).toBe(
      'maple node slab full: 3 objects; raise the maple node slab capacity',
    );
  });

  it('frees and reallocates every object, and the books balance', () => {
    arena();
    const c = kmem_cache_create('obj', 4, 100);
    for (let round = 0; round < 3; round++) {
      const objs = allocAll(c);
      expect(objs.length).toBe(100);
      const seen: number[] = [];
      kmem_cache_for_each_allocated(c, (p) => seen.push(p));
      expect(seen.sort((x, y) => x - y)).toEqual([...objs].sort((x, y) => x - y));
      for (const p of objs) kmem_cache_free(c, p);
      expect(kmem_cache_verify(c)).toMatchObject({ allocated: 0, free: 100, capacity: 100 });
    }
    // Some freed objects went back to the global list in batches, some stay in our cache.
    const p = kmem_cache_alloc(c);
    kmem_cache_free(c, p);
    expect(kmem_cache_alloc(c)).toBe(p); // LIFO per-task cache
  });

  it('a typesafe cache never writes any word but the free pointer', () => {
    arena();
    const words = 8;
    const fp = 2;
    const c = kmem_cache_create('vma', words, 64, { typesafeByRcu: true, freeptrOffset: fp });
    const objs = allocAll(c);
    const marker = (p: number, i: number): number => (p * 31 + i) | 0;
    for (const p of objs) {
      for (let i = 0; i < words; i++) if (i !== fp) atomic_set(p + i, marker(p, i));
    }
    // Freeing all 64 pushes batches onto the global list, so links are written.
    for (const p of objs) kmem_cache_free(c, p);
    const again = allocAll(c);
    expect(new Set(again)).toEqual(new Set(objs));
    for (const p of again) {
      for (let i = 0; i < words; i++) {
        if (i !== fp) expect(atomic_read(p + i)).toBe(marker(p, i));
      }
    }
  });

  it('detects a double free and a foreign pointer, naming the pointer', () => {
    arena();
    const c = kmem_cache_create('vma', 16, 8);
    const p = kmem_cache_alloc(c);
    kmem_cache_free(c, p);
    expect(() => kmem_cache_free(c, p)).toThrow(LockStateError);
    expect(() => kmem_cache_free(c, p)).toThrow(`vma slab: double free of object ${p}`);
    const q = kmem_cache_alloc(c);
    expect(() => kmem_cache_free(c, q + 1)).toThrow(InvariantViolation);
    expect(() => kmem_cache_free(c, q + 1)).toThrow(`${q + 1} is not an object of this cache`);
    expect(() => kmem_cache_free(c, 0)).toThrow(InvariantViolation);
    expect(() => kmem_cache_free(c, q + 16 * 8)).toThrow(InvariantViolation);
    kmem_cache_free(c, q);
    expect(kmem_cache_verify(c).allocated).toBe(0);
    expect(() => kmem_cache_alloc(c + 1)).toThrow(`${c + 1} is not a kmem_cache`);
  });

  it('poisons freed objects and catches a write after free', () => {
    arena();
    const c = kmem_cache_create('mm', 6, 4, { poison: true, freeptrOffset: 1 });
    const p = kmem_cache_alloc(c);
    for (let i = 0; i < 6; i++) if (i !== 1) expect(atomic_read(p + i)).toBe(KMEM_POISON_FREE);
    for (let i = 0; i < 6; i++) atomic_set(p + i, 7);
    kmem_cache_free(c, p);
    for (let i = 0; i < 6; i++) expect(atomic_read(p + i)).toBe(KMEM_POISON_FREE);
    atomic_set(p + 4, 1); // use after free
    expect(() => kmem_cache_alloc(c)).toThrow(`mm slab: use after free: object ${p} word 4`);
  });

  it('rejects bad parameters with the value and what is allowed', () => {
    arena();
    expect(() => kmem_cache_create('x', 0, 4)).toThrow(LayoutError);
    expect(() => kmem_cache_create('x', 4, 4, { freeptrOffset: 4 })).toThrow(
      'freeptrOffset 4; allowed 0..3',
    );
    expect(() => kmem_cache_create('x'.repeat(33), 4, 4)).toThrow(/longer than 32/);
    expect(() => kmem_cache_create('x', 4, 4, { typesafeByRcu: true, poison: true })).toThrow(
      LayoutError,
    );
    const c = kmem_cache_create('a name of exactly thirty-two ch.', 4, 1);
    expect(kmem_cache_name(c)).toBe('a name of exactly thirty-two ch.');
  });
});

describe('kmem_cache per-task caches (real threads)', () => {
  it('never reports exhaustion while objects are in flight between caches', async () => {
    const sab = arena(true, 4);
    // Fewer objects than one refill batch: task 1's refill takes them all off the list.
    const c = kmem_cache_create('in flight', 8, 4, { knob: '--in-flight' });
    const words = arena_alloc(4 * LINE_WORDS, LINE_WORDS);
    const args = {
      c,
      inFlightWord: c + KMEM_CACHE.list + KMEM_LIST.in_flight,
      stalled: words,
      looked: words + LINE_WORDS,
      done: words + 2 * LINE_WORDS,
    };
    const [mine, theirs] = (await runThreads(sab, 'test/threads/slab', [
      { taskId: 1, fn: 'inFlightMover', args },
      { taskId: 2, fn: 'inFlightAllocator', args },
    ])) as number[];
    // Task 2 found the list and every per-task cache empty while task 1's batch was in flight:
    // it waited for the batch and took one of its objects (a steal) instead of failing.
    expect(mine).not.toBe(0);
    expect(theirs).not.toBe(0);
    expect(theirs).not.toBe(mine);
    expect(atomic_read(args.looked)).toBe(1);
    expect(atomic_read(args.inFlightWord)).toBe(0);
    expect(kmem_cache_verify(c)).toMatchObject({ allocated: 2, free: 2 });
  });

  it('stats add up after other tasks free, and their cached objects can be reused', async () => {
    const sab = arena(true, 8);
    const c = kmem_cache_create('vma', 8, 120, { typesafeByRcu: true, knob: '--max-vmas' });
    const objs = allocAll(c);
    expect(objs.length).toBe(120);
    const parts = [1, 2, 3, 4].map((t) => objs.filter((_, i) => i % 4 === t - 1));
    const freed = await runThreads(
      sab,
      'test/threads/slab',
      parts.map((part, i) => ({ taskId: i + 1, fn: 'freeObjects', args: { c, objs: part } })),
    );
    expect(freed).toEqual([30, 30, 30, 30]);
    expect(kmem_cache_verify(c)).toMatchObject({ allocated: 0, free: 120 });
    // The workers are gone; their cached objects must still be found (stolen) by task 0.
    const again = allocAll(c);
    expect(again.length).toBe(120);
    expect(new Set(again)).toEqual(new Set(objs));
    for (const p of again) kmem_cache_free(c, p);
    // And workers allocate what task 0 cached.
    const got = (await runThreads(sab, 'test/threads/slab', [
      { taskId: 5, fn: 'allocAll', args: { c } },
    ])) as number[][];
    expect(got[0]!.length).toBe(120);
    expect(kmem_cache_verify(c)).toMatchObject({ allocated: 120, free: 0 });
  });
});
