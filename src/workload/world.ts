// A world: one shared buffer holding everything a run needs — tasks, RCU and SRCU state, the
// slabs (VMAs, mm_structs, index nodes, page-table pages), the frame pool and the mm model's
// globals. The main thread creates it; each worker attaches to it and binds the same scheme.

import { LayoutError, UsageError } from '../errors.js';
import { frames_init } from '../mm/frames.js';
import { mm_globals_load } from '../mm/globals.js';
import { pgtable_init } from '../mm/pgtable.js';
import { srcu_wq_create } from '../mm/srcu_work.js';
import { vma_tree_attach, vma_tree_create_cache } from '../mm/vma_tree.js';
import { atomic_set } from '../sched/atomics.js';
import { set_folded } from '../sched/flags.js';
import { set_tracing, task_attach } from '../sched/task.js';
import { set_active_scheme } from '../schemes/active.js';
import { SCHEMES, type SchemeName, scheme_by_id, scheme_id } from '../schemes/index.js';
import { shadow_reset_owned } from '../schemes/shadow.js';
import { srcu_spf_reset } from '../schemes/srcu_spf.js';
import { arena_alloc, attachArena, createArena, set_root } from '../shm/arena.js';
import {
  configureLayout,
  FRAME_WORDS,
  LINE_WORDS,
  MM,
  MM_GLOBALS,
  MMG_FLAG_ASSERTIONS,
  MMG_FLAG_BACKPORT_KILLABLE,
  MMG_FLAG_BACKPORT_MADVISE,
  MMG_FLAG_BACKPORT_MAPS,
  MMG_FLAG_SYNC_SRCU,
  PGD,
  PTE_PAGE,
  ROOT,
  SRCU_WORK_WORDS,
  TASK,
  VMA,
  VT_NODE,
  WORD_BYTES,
} from '../shm/layout/index.js';
import { kmem_cache_create } from '../shm/slab.js';
import { type RcuFlavor, rcu_init } from '../sync/rcu.js';
import { refcount_warn_init } from '../sync/refcount.js';
import { rwsem_forget_wake_q } from '../sync/rwsem_wait.js';
import { init_srcu_struct } from '../sync/srcu.js';

export interface WorldConfig {
  readonly scheme: SchemeName;
  /** mm_structs that may exist at once */
  readonly maxMms: number;
  /** VMAs that may exist at once (the VMA slab's capacity) */
  readonly maxVmas: number;
  /** 4 KiB page frames in the pool */
  readonly frames: number;
  /** task slots: workers + the main thread */
  readonly maxTasks: number;
  /** pad hot words to a cache line of their own */
  readonly padding: boolean;
  /** live assertions and shadow counters (tests, stress); off for benchmarks */
  readonly assertions: boolean;
  /** rw_semaphore writers spin on the owner before queueing (the kernel's default) */
  readonly rwsemSpin: boolean;
  /** srcu_spf's munmap: queue call_srcu (default) or wait synchronize_srcu */
  readonly srcuFree: 'call_srcu' | 'synchronize_srcu';
  /** the RCU flavour (src/sync/rcu.ts): qsbr, as the kernel's, or liburcu's memb */
  readonly rcu: RcuFlavor;
  /** page-table pages (512 PTEs each); default: enough for the frames, spread out */
  readonly ptePages?: number;
  /** room for the caller's own structures (a bench's lookup trees), MiB */
  readonly extraMiB?: number;
  /** the bug catalogue's injected mask (src/sched/bugs.ts); 0 or absent runs the fixed code */
  readonly bugs?: number;
  /**
   * Newer kernels' features on a scheme whose era lacked them, by name (BACKPORTS); absent or
   * empty: each scheme exactly as its kernel. No effect where the scheme has them already or
   * has no per-VMA lock to use them with.
   */
  readonly backports?: readonly Backport[];
}

/**
 * maps: the v6.17 per-VMA /proc/pid/maps walk; madvise: the v6.16 per-VMA MADV_DONTNEED;
 * killable: the killable VMA write lock. vma_rwsem's kernels (6.4-6.13) had none of them.
 */
export const BACKPORTS = ['maps', 'madvise', 'killable'] as const;
export type Backport = (typeof BACKPORTS)[number];

export const DEFAULT_WORLD: WorldConfig = {
  scheme: 'vma_refcnt',
  maxMms: 16,
  maxVmas: 4096,
  frames: 4096,
  maxTasks: 64,
  padding: true,
  assertions: true,
  rwsemSpin: true,
  srcuFree: 'call_srcu',
  rcu: 'qsbr',
};

/** The limits a user may set (the CLI names them in its errors). */
export const WORLD_LIMITS = {
  maxMms: [1, 4096],
  maxVmas: [16, 2_000_000],
  frames: [16, 1_000_000],
  maxTasks: [2, 1024],
} as const;

function checkLimit(name: keyof typeof WORLD_LIMITS, v: number): void {
  const [lo, hi] = WORLD_LIMITS[name];
  if (!Number.isInteger(v) || v < lo || v > hi) {
    throw new UsageError(`${name} ${v}: allowed ${lo}..${hi}`);
  }
}

/** Index nodes to provision: a full tree, plus copies waiting for their grace period. */
function treeNodes(maxVmas: number): number {
  return Math.ceil(maxVmas / 4) + 4096;
}

function ptePagesFor(cfg: WorldConfig): number {
  return cfg.ptePages ?? Math.max(256, Math.ceil(cfg.frames / 8));
}

/** The words a world of this shape needs, with room for per-object metadata. */
function worldWords(cfg: WorldConfig): number {
  const obj = (words: number, n: number): number => (words + LINE_WORDS) * n + 64 * LINE_WORDS;
  return (
    TASK.SIZE * cfg.maxTasks +
    obj(VMA.SIZE, cfg.maxVmas) +
    obj(MM.SIZE, cfg.maxMms) +
    obj(VT_NODE.SIZE, treeNodes(cfg.maxVmas)) +
    obj(PTE_PAGE.SIZE, ptePagesFor(cfg)) +
    obj(PGD.SIZE, cfg.maxMms) +
    obj(FRAME_WORDS, cfg.frames) +
    // srcu_spf's work queue (any scheme: cheap next to the VMAs)
    SRCU_WORK_WORDS * (cfg.maxVmas + ptePagesFor(cfg)) +
    // RCU, SRCU, refcount warnings, per-task caches: generous
    cfg.maxTasks * 8 * 1024 +
    256 * 1024
  );
}

let bound = -1;

function bind(): void {
  const g = mm_globals_load();
  set_active_scheme(scheme_by_id(g.scheme));
  // The per-VMA locks' debug checks (both schemes read this one folded switch).
  set_folded('__faultline_assertions', g.assertions);
  vma_tree_attach(g.treeCache); // also forgets a transaction an operation left open by throwing
  shadow_reset_owned();
  rwsem_forget_wake_q(); // and wake-ups a body that threw left queued
  srcu_spf_reset();
  set_tracing(g.assertions);
  bound = g.scheme;
}

/** Create a world and attach the calling (main) thread to it as task 0. */
export function world_create(config: Partial<WorldConfig> = {}): { sab: SharedArrayBuffer } {
  const cfg: WorldConfig = { ...DEFAULT_WORLD, ...config };
  if (!(SCHEMES as readonly string[]).includes(cfg.scheme)) {
    throw new UsageError(`unknown scheme '${cfg.scheme}'; allowed: ${SCHEMES.join(', ')}`);
  }
  checkLimit('maxMms', cfg.maxMms);
  checkLimit('maxVmas', cfg.maxVmas);
  checkLimit('frames', cfg.frames);
  checkLimit('maxTasks', cfg.maxTasks);
  // Lay out once to learn the struct sizes for this padding setting, then size the buffer.
  configureLayout({ padding: cfg.padding });
  const bytes = worldWords(cfg) * WORD_BYTES;
  const sizeMiB = Math.ceil(bytes / (1 << 20)) + 4 + (cfg.extraMiB ?? 0);
  const arena = createArena({
    sizeMiB,
    maxTasks: cfg.maxTasks,
    padding: cfg.padding,
    rwsemSpin: cfg.rwsemSpin,
    bugs: cfg.bugs ?? 0,
  });
  task_attach(0);
  rcu_init({ flavor: cfg.rcu, debug: cfg.assertions });
  refcount_warn_init();
  const srcu = init_srcu_struct();
  const s = scheme_by_id(scheme_id(cfg.scheme));
  const vmaCache = kmem_cache_create('vma', VMA.SIZE, cfg.maxVmas, {
    typesafeByRcu: s.typesafeVmas,
    freeptrOffset: VMA.vm_start,
    poison: !s.typesafeVmas && cfg.assertions,
    knob: '--max-vmas',
  });
  const mmCache = kmem_cache_create('mm_struct', MM.SIZE, cfg.maxMms, {
    poison: true,
    knob: '--max-mms',
  });
  const treeCache = vma_tree_create_cache(treeNodes(cfg.maxVmas), { poison: cfg.assertions });
  frames_init(cfg.frames);
  pgtable_init(ptePagesFor(cfg), cfg.maxMms);
  const g = arena_alloc(MM_GLOBALS.SIZE, LINE_WORDS, 'mm globals');
  atomic_set(g + MM_GLOBALS.scheme, scheme_id(cfg.scheme));
  atomic_set(
    g + MM_GLOBALS.flags,
    (cfg.assertions ? MMG_FLAG_ASSERTIONS : 0) |
      (cfg.srcuFree === 'synchronize_srcu' ? MMG_FLAG_SYNC_SRCU : 0) |
      (cfg.backports?.includes('maps') ? MMG_FLAG_BACKPORT_MAPS : 0) |
      (cfg.backports?.includes('madvise') ? MMG_FLAG_BACKPORT_MADVISE : 0) |
      (cfg.backports?.includes('killable') ? MMG_FLAG_BACKPORT_KILLABLE : 0),
  );
  atomic_set(g + MM_GLOBALS.vma_cache, vmaCache);
  atomic_set(g + MM_GLOBALS.mm_cache, mmCache);
  atomic_set(g + MM_GLOBALS.tree_cache, treeCache);
  atomic_set(g + MM_GLOBALS.srcu, srcu);
  // srcu_spf's deferred frees: every VMA and pte page can be waiting at once, so it never fills.
  if (s.speculative) {
    atomic_set(g + MM_GLOBALS.srcu_wq, srcu_wq_create(cfg.maxVmas + ptePagesFor(cfg)));
  }
  set_root(ROOT.MM, g);
  bind();
  return { sab: arena.sab };
}

/** Attach a worker thread to a world as task `taskId` and bind the world's scheme. */
export function world_attach(sab: SharedArrayBuffer, taskId: number): void {
  attachArena(sab);
  task_attach(taskId);
  bind();
}

/** For a thread already attached to the buffer and its task (test scenarios): bind the world. */
export function world_bind(): void {
  bind();
}

/** A new, empty address space (mm_alloc). */
export { mm_alloc as mm_create } from '../mm/mm.js';
export { SCHEMES, type SchemeName } from '../schemes/index.js';

/** The scheme this thread is bound to. */
export function world_scheme(): SchemeName {
  const name = SCHEMES[bound];
  if (name === undefined) throw new LayoutError('no world attached in this thread');
  return name;
}
