// The arena: one SharedArrayBuffer, its header, the task slots, and a bump allocator for
// everything else (slabs, global objects). Word 0 is the magic, so no object lives at 0 and a
// pointer of 0 is NULL.

import { LayoutError, SlabExhausted } from '../errors.js';
import { atomic_fetch_add, atomic_read, atomic_set, attach_words } from '../sched/atomics.js';
import { set_injected_bugs } from '../sched/bugs.js';
import {
  alignUp,
  configureLayout,
  FAULTLINE_MAGIC,
  HDR_FLAG_PADDING,
  HDR_FLAG_RWSEM_NO_SPIN,
  HEADER,
  LAYOUT_VERSION,
  LINE_WORDS,
  layoutFingerprint,
  NR_ROOTS,
  TASK,
  WORD_BYTES,
} from './layout/index.js';

export interface ArenaConfig {
  /** total size of the buffer in MiB */
  readonly sizeMiB: number;
  /** task slots: workers + the main thread */
  readonly maxTasks: number;
  /** pad hot words to their own cache line (true for benchmarks, false for size figures) */
  readonly padding: boolean;
  /** the bug catalogue's injected mask (src/sched/bugs.ts); 0 runs the fixed code */
  readonly bugs: number;
  /** rw_semaphore writers spin on the owner before queueing (CONFIG_RWSEM_SPIN_ON_OWNER) */
  readonly rwsemSpin: boolean;
}

export const DEFAULT_ARENA: ArenaConfig = {
  sizeMiB: 64,
  maxTasks: 64,
  padding: true,
  bugs: 0,
  rwsemSpin: true,
};

/** The most memory one buffer may take (a SharedArrayBuffer is indexed by Int32 words). */
export const MAX_ARENA_MIB = 8192;
export const MAX_TASKS = 1024;

export interface Arena {
  readonly sab: SharedArrayBuffer;
  readonly words: Int32Array;
}

/** Create a buffer, lay out its header and task slots, and attach this thread to it. */
export function createArena(config: Partial<ArenaConfig> = {}): Arena {
  const cfg = { ...DEFAULT_ARENA, ...config };
  if (!Number.isInteger(cfg.sizeMiB) || cfg.sizeMiB < 1 || cfg.sizeMiB > MAX_ARENA_MIB) {
    throw new LayoutError(`arena size ${cfg.sizeMiB} MiB: allowed 1..${MAX_ARENA_MIB} MiB`);
  }
  if (!Number.isInteger(cfg.maxTasks) || cfg.maxTasks < 1 || cfg.maxTasks > MAX_TASKS) {
    throw new LayoutError(`max tasks ${cfg.maxTasks}: allowed 1..${MAX_TASKS}`);
  }
  configureLayout({ padding: cfg.padding });
  const totalWords = (cfg.sizeMiB * 1024 * 1024) / WORD_BYTES;
  const sab = new SharedArrayBuffer(totalWords * WORD_BYTES);
  const w = new Int32Array(sab);
  const taskWords = TASK.SIZE;
  const taskBase = alignUp(HEADER.SIZE, LINE_WORDS);
  const end = taskBase + taskWords * cfg.maxTasks;
  if (end >= totalWords) {
    throw new LayoutError(
      `arena of ${cfg.sizeMiB} MiB cannot hold ${cfg.maxTasks} tasks; raise the arena size`,
    );
  }
  // Plain stores: nobody else can see the buffer yet.
  w[HEADER.magic] = FAULTLINE_MAGIC;
  w[HEADER.version] = LAYOUT_VERSION;
  w[HEADER.fingerprint] = layoutFingerprint();
  w[HEADER.flags] =
    (cfg.padding ? HDR_FLAG_PADDING : 0) | (cfg.rwsemSpin ? 0 : HDR_FLAG_RWSEM_NO_SPIN);
  w[HEADER.total_words] = totalWords;
  w[HEADER.max_tasks] = cfg.maxTasks;
  w[HEADER.task_base] = taskBase;
  w[HEADER.task_words] = taskWords;
  w[HEADER.bump] = alignUp(end, LINE_WORDS);
  w[HEADER.bugs] = cfg.bugs;
  for (let t = 0; t < cfg.maxTasks; t++) {
    w[taskBase + t * taskWords + TASK.id] = t;
    w[taskBase + t * taskWords + TASK.cpu] = -1;
  }
  attach_words(w);
  set_injected_bugs(cfg.bugs);
  return { sab, words: w };
}

/**
 * Attach this thread to a buffer made by createArena in another thread. Fails with a
 * LayoutError naming what differs if the buffer was laid out by other code.
 */
export function attachArena(sab: SharedArrayBuffer): Arena {
  if (!(sab instanceof SharedArrayBuffer)) {
    throw new LayoutError('attach: not a SharedArrayBuffer');
  }
  if (sab.byteLength < HEADER.SIZE * WORD_BYTES || sab.byteLength % WORD_BYTES !== 0) {
    throw new LayoutError(`attach: buffer of ${sab.byteLength} bytes is not a faultline arena`);
  }
  const w = new Int32Array(sab);
  // The header's first words sit at the same place in every layout version.
  attach_words(w);
  const magic = atomic_read(0);
  if (magic !== FAULTLINE_MAGIC) {
    throw new LayoutError(
      `attach: bad magic 0x${(magic >>> 0).toString(16)}; expected 0x${FAULTLINE_MAGIC.toString(16)}`,
    );
  }
  const version = atomic_read(1);
  if (version !== LAYOUT_VERSION) {
    throw new LayoutError(
      `attach: buffer has layout version ${version}; this build has version ${LAYOUT_VERSION}`,
    );
  }
  configureLayout({ padding: (atomic_read(HEADER.flags) & HDR_FLAG_PADDING) !== 0 });
  const fp = atomic_read(HEADER.fingerprint);
  if (fp !== layoutFingerprint()) {
    throw new LayoutError(
      `attach: buffer layout fingerprint ${fp >>> 0} differs from this build's ${layoutFingerprint() >>> 0}; rebuild (npm run build)`,
    );
  }
  set_injected_bugs(atomic_read(HEADER.bugs));
  return { sab, words: w };
}

/**
 * Allocate n words, aligned to `align` words, from the bump allocator. Safe from any thread
 * (an atomic add), never freed: slabs and global objects take their storage from here.
 */
export function arena_alloc(n: number, align = 1, what = 'object'): number {
  if (!Number.isInteger(n) || n < 1) throw new LayoutError(`arena_alloc: ${n} words`);
  const total = atomic_read(HEADER.total_words);
  // Reserve n + align - 1 so the aligned block always fits inside the reservation.
  const start = atomic_fetch_add(HEADER.bump, n + align - 1);
  const p = alignUp(start, align);
  if (p + n > total) {
    throw new SlabExhausted(
      `arena full: ${what} needs ${n * WORD_BYTES} bytes, ${Math.max(0, total - start) * WORD_BYTES} left of ${(total * WORD_BYTES) >> 20} MiB; raise the arena size`,
    );
  }
  return p;
}

/** Words still free in the arena. */
export function arena_free_words(): number {
  return Math.max(0, atomic_read(HEADER.total_words) - atomic_read(HEADER.bump));
}

/** Read a root pointer (0 if the subsystem was not created). */
export function get_root(root: number): number {
  if (root < 0 || root >= NR_ROOTS)
    throw new LayoutError(`root ${root}: allowed 0..${NR_ROOTS - 1}`);
  return atomic_read(HEADER.roots + root);
}

/** Publish a root pointer (during set-up, before workers start). */
export function set_root(root: number, p: number): void {
  if (root < 0 || root >= NR_ROOTS)
    throw new LayoutError(`root ${root}: allowed 0..${NR_ROOTS - 1}`);
  atomic_set(HEADER.roots + root, p);
}

export function max_tasks(): number {
  return atomic_read(HEADER.max_tasks);
}

/** Word index of task slot `id`. */
export function task_ptr(id: number): number {
  return atomic_read(HEADER.task_base) + id * atomic_read(HEADER.task_words);
}
