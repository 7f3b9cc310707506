// The page-frame pool: 4 KiB frames (FRAME_WORDS words each) in the arena, named by frame number
// (pfn >= 1; 0 means "no frame"). Its descriptor (FRAME_POOL at ROOT.FRAMES) also holds the
// page-table slabs, which pgtable_init adds.
//
// Memory ordering: the pool is a kmem_cache of frame-sized objects (src/shm/slab.ts), so
// alloc_frame and free_frame order exactly as kmem_cache_alloc and kmem_cache_free do (per-task
// caches published by cmpxchg, the global list under its spinlock). A frame's contents belong to
// the one task that holds it: zero_frame's plain stores happen before the frame is mapped, and
// set_pte_at's RELEASE store is what publishes them to other tasks.

import { InvariantViolation, LayoutError, SlabExhausted } from '../errors.js';
import {
  atomic_read,
  atomic_set,
  plain_fill,
  without_schedule_points,
  words,
} from '../sched/atomics.js';
import { arena_alloc, get_root, set_root } from '../shm/arena.js';
import { FRAME_POOL, FRAME_WORDS, LINE_WORDS, PTE_PFN_MAX, ROOT } from '../shm/layout/index.js';
import {
  kmem_cache_alloc,
  kmem_cache_create,
  kmem_cache_free,
  kmem_cache_obj_ptr,
  kmem_cache_stats,
} from '../shm/slab.js';

/** The user setting that sizes the frame pool. */
export const FRAMES_KNOB = '--frames';

export { FRAME_WORDS } from '../shm/layout/index.js';

export interface FramesStats {
  readonly total: number;
  readonly free: number;
  readonly allocated: number;
}

/**
 * Create the frame pool of nrFrames frames and publish it at ROOT.FRAMES. Main thread, at
 * set-up, before workers start; pgtable_init (src/mm/pgtable.ts) comes after it.
 */
export function frames_init(nrFrames: number): void {
  if (!Number.isInteger(nrFrames) || nrFrames < 1 || nrFrames > PTE_PFN_MAX) {
    throw new LayoutError(`frames ${nrFrames}: allowed 1..${PTE_PFN_MAX}`);
  }
  if (get_root(ROOT.FRAMES) !== 0) throw new LayoutError('frames_init: the frame pool exists');
  const pool = arena_alloc(FRAME_POOL.SIZE, LINE_WORDS, 'frame pool');
  // Frames are page-aligned; the free-list link overlays word 0, which zero_frame clears.
  const frames = kmem_cache_create('frame', FRAME_WORDS, nrFrames, {
    align: FRAME_WORDS,
    knob: FRAMES_KNOB,
  });
  atomic_set(pool + FRAME_POOL.frames, frames);
  atomic_set(pool + FRAME_POOL.nr_frames, nrFrames);
  set_root(ROOT.FRAMES, pool); // RELEASE: the pool is complete
  cachedWords = null;
}

/** The frame pool's descriptor (ROOT.FRAMES); LayoutError if frames_init was not run. */
export function frame_pool(): number {
  const pool = get_root(ROOT.FRAMES);
  if (pool === 0) throw new LayoutError('the buffer has no frame pool (frames_init was not run)');
  return pool;
}

// ---- this thread's view of the pool (re-read when the thread attaches to another buffer) ----

let cachedWords: Int32Array | null = null;
let framesCache = 0;
let frameBase = 0;
let nrFrames = 0;

function frames_cache(): number {
  if (cachedWords !== words()) without_schedule_points(fill_frames_cache);
  return framesCache;
}

function fill_frames_cache(): void {
  const pool = frame_pool();
  framesCache = atomic_read(pool + FRAME_POOL.frames);
  nrFrames = atomic_read(pool + FRAME_POOL.nr_frames);
  frameBase = kmem_cache_obj_ptr(framesCache, 0);
  cachedWords = words();
}

// ---- frames --------------------------------------------------------------------------------

/** A free frame's number (>= 1), or 0 when the pool is empty. Any task. */
export function alloc_frame(): number {
  const p = kmem_cache_alloc(frames_cache());
  return p === 0 ? 0 : (p - frameBase) / FRAME_WORDS + 1;
}

/** The error to throw when alloc_frame returns 0. */
export function frame_pool_empty(): SlabExhausted {
  frames_cache();
  return new SlabExhausted(`frame pool empty: ${nrFrames} frames; raise ${FRAMES_KNOB}`);
}

export function alloc_frame_or_throw(): number {
  const pfn = alloc_frame();
  if (pfn === 0) throw frame_pool_empty();
  return pfn;
}

/** Return frame `pfn` to the pool. A double free throws LockStateError (from the slab). */
export function free_frame(pfn: number): void {
  kmem_cache_free(frames_cache(), frame_ptr(pfn));
}

/** Word index of frame `pfn`'s first word. */
export function frame_ptr(pfn: number): number {
  frames_cache();
  if (!Number.isInteger(pfn) || pfn < 1 || pfn > nrFrames) {
    throw new InvariantViolation(`pfn ${pfn} is not a frame: allowed 1..${nrFrames}`);
  }
  return frameBase + (pfn - 1) * FRAME_WORDS;
}

/**
 * Fill frame `pfn` with zeroes: the real cost of an anonymous fault. Plain stores: only the
 * task that just allocated the frame calls this, before the frame is mapped.
 */
export function zero_frame(pfn: number): void {
  plain_fill(frame_ptr(pfn), FRAME_WORDS, 0);
}

/** Exact when no task allocates or frees (frames in per-task caches count as free). */
export function frames_stats(): FramesStats {
  const s = kmem_cache_stats(frames_cache());
  return { total: s.capacity, free: s.free, allocated: s.allocated };
}

/** The frame cache itself, for kmem_cache_verify in checks. */
export function frames_kmem_cache(): number {
  return frames_cache();
}
