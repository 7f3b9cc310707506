import { describe, expect, it } from 'vitest';
import {
  InvariantViolation,
  LayoutError,
  LockStateError,
  SlabExhausted,
} from '../../src/errors.js';
import {
  alloc_frame,
  alloc_frame_or_throw,
  FRAME_WORDS,
  frame_ptr,
  frames_init,
  frames_kmem_cache,
  frames_stats,
  free_frame,
  zero_frame,
} from '../../src/mm/frames.js';
import { atomic_read, atomic_set } from '../../src/sched/atomics.js';
import { task_attach } from '../../src/sched/task.js';
import { arena_alloc, createArena } from '../../src/shm/arena.js';
import { kmem_cache_verify } from '../../src/shm/slab_check.js';
import { runThreads } from '../helpers/threads.js';

function world(frames: number, maxTasks = 8): SharedArrayBuffer {
  const a = createArena({ sizeMiB: 4, maxTasks });
  task_attach(0);
  frames_init(frames);
  return a.sab;
}

describe('frame pool', () => {
  it('hands out frames 1..N, page-aligned, then reports the exact error', () => {
    world(8);
    const pfns: number[] = [];
    for (let pfn = alloc_frame(); pfn !== 0; pfn = alloc_frame()) pfns.push(pfn);
    expect(pfns).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const pfn of pfns) expect(frame_ptr(pfn) % FRAME_WORDS).toBe(0);
    expect(frame_ptr(2) - frame_ptr(1)).toBe(FRAME_WORDS);
    expect(frames_stats()).toEqual({ total: 8, free: 0, allocated: 8 });
    expect(() => alloc_frame_or_throw()).toThrow(SlabExhausted);
    expect(() => alloc_frame_or_throw()).toThrow(/^frame pool empty: 8 frames; raise --frames$/);
    for (const pfn of pfns) free_frame(pfn);
    expect(frames_stats()).toEqual({ total: 8, free: 8, allocated: 0 });
    expect(kmem_cache_verify(frames_kmem_cache()).allocated).toBe(0);
  });

  it('zero_frame clears exactly one frame', () => {
    world(4);
    const a = alloc_frame_or_throw();
    const b = alloc_frame_or_throw();
    for (let i = 0; i < FRAME_WORDS; i++) {
      atomic_set(frame_ptr(a) + i, 0x55);
      atomic_set(frame_ptr(b) + i, 0x77);
    }
    zero_frame(a);
    let sumA = 0;
    let sumB = 0;
    for (let i = 0; i < FRAME_WORDS; i++) {
      sumA += atomic_read(frame_ptr(a) + i);
      sumB += atomic_read(frame_ptr(b) + i);
    }
    expect(sumA).toBe(0);
    expect(sumB).toBe(0x77 * FRAME_WORDS);
  });

  it('detects a double free and a pfn outside the pool', () => {
    world(4);
    const pfn = alloc_frame_or_throw();
    free_frame(pfn);
    expect(() => free_frame(pfn)).toThrow(LockStateError);
    expect(() => free_frame(pfn)).toThrow(`frame slab: double free of object ${frame_ptr(pfn)}`);
    expect(() => free_frame(0)).toThrow(InvariantViolation);
    expect(() => free_frame(5)).toThrow('pfn 5 is not a frame: allowed 1..4');
    expect(frames_stats().allocated).toBe(0);
  });

  it('refuses a second pool and a bad size', () => {
    world(4);
    expect(() => frames_init(4)).toThrow(LayoutError);
    createArena({ sizeMiB: 1, maxTasks: 2 });
    expect(() => frames_init(0)).toThrow('frames 0: allowed 1..');
    expect(() => alloc_frame()).toThrow(/no frame pool/);
  });
});

describe('frame pool under concurrent alloc/free (5 workers)', () => {
  it('every frame has one holder at a time and the books balance', async () => {
    const sab = world(64, 6);
    const sync = arena_alloc(2, 16);
    const res = (await runThreads(
      sab,
      'test/threads/pgtable',
      [1, 2, 3, 4, 5].map((taskId) => ({
        taskId,
        fn: 'frameChurn',
        args: { rounds: 40_000, maxHold: 20, seed: 7919 * taskId, sync, parties: 5 },
      })),
    )) as Array<{ allocs: number; empty: number }>;
    expect(res.reduce((s, r) => s + r.allocs, 0)).toBeGreaterThan(0);
    expect(res.reduce((s, r) => s + r.empty, 0)).toBeGreaterThan(0); // 5 × 20 > 64: runs dry
    expect(frames_stats()).toEqual({ total: 64, free: 64, allocated: 0 });
    expect(kmem_cache_verify(frames_kmem_cache()).free).toBe(64);
  });
});
