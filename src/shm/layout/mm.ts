// Layout of mm_struct and vm_area_struct (mirrors include/linux/mm_types.h, v6.15 names).
//
// One vm_area_struct serves all four schemes, so every scheme's fields are present: with padding
// off it is 16 words (64 bytes, within one cache line); with padding on, the cold fields share
// the first line and vm_refcnt and vm_lock get a line each (3 lines, 192 bytes — the kernel's
// v6.15 size, where vm_refcnt also sits alone on the third line). Hot fields come last so that
// padding adds no fourth line.

import { RWSEM } from './rwsem.js';
import { defineStruct } from './struct.js';
import { RCUWAIT, REFCOUNT, SEQCOUNT } from './sync.js';

export const VMA = defineStruct('vm_area_struct', {
  /**
   * First page of the mapping (page number). For a free object in the type-safe slab this word
   * holds the allocator's free-list link: the only word the allocator may overwrite.
   */
  vm_start: 1,
  /** One past the last page. */
  vm_end: 1,
  /** The owning mm. "Unstable RCU readers may read this": a reused slot can name another mm. */
  vm_mm: 1,
  /** VM_READ | VM_WRITE | ... (src/mm/vma.ts) */
  vm_flags: 1,
  /**
   * u32. UINT_MAX (-1 as Int32) when new. Written only under the mmap write lock, and only while
   * the VMA is detached or the exclude-readers flag is set in vm_refcnt (vma_refcnt) or vm_lock is
   * held for write (vma_rwsem). Write-locked exactly when it equals mm->mm_lock_seq.
   */
  vm_lock_seq: 1,
  /** vma_rwsem: 1 once removed from the tree (the old `detached` bool), 0 while attached. */
  detached: 1,
  /**
   * The VMA's anon_vma: 0 until the first anonymous fault prepares it (__anon_vma_prepare),
   * then set once, under the mmap lock (read is enough) and the pgd's page_table_lock, and never
   * changed while the VMA lives; a split copies it to the new VMA before attaching it. faultline
   * keeps no reverse map, so the value is an identity, not a pointer: the VMA slot that first
   * prepared it. Read locklessly by the fault fast path (a stale 0 only sends it the slow way).
   */
  anon_vma: 1,
  /** srcu_spf: bumped (odd) before and (even) after every change a speculative fault must see. */
  vm_seq: { struct: SEQCOUNT },
  /**
   * A checksum of (vm_start, vm_end, vm_mm, vm_flags), rewritten with them under the write lock.
   * Readers holding the VMA lock verify it: a mismatch is a torn read (KERNEL.md §7.9).
   */
  vm_csum: 1,
  /**
   * Shadow reader count for the exclusion check (§7.1): +1 after a successful read lock, -1
   * before its release, when assertions are on. A writer that has excluded readers sees 0.
   */
  shadow_readers: 1,
  /**
   * vma_refcnt (v6.15+):
   *   0                  detached or free; readers can never raise it from 0
   *   1                  attached; unlocked or write-locked (the sequence numbers tell which)
   *   2 .. LIMIT         read-locked (or write-locked while a reader drops its reference)
   *   OFFSET             detach in progress, about to drop to 0
   *   OFFSET + 1         a writer has excluded every reader
   *   > OFFSET + 1       a writer waits for readers to leave
   * OFFSET = VMA_LOCK_OFFSET (bit 30), LIMIT = VMA_REF_LIMIT = OFFSET - 1 (src/schemes/vma_refcnt.ts).
   */
  vm_refcnt: { struct: REFCOUNT, hot: true },
  /** vma_rwsem (6.4–6.14): the per-VMA rw_semaphore. */
  vm_lock: { struct: RWSEM, hot: true },
});

export const MM = defineStruct('mm_struct', {
  /** mmgrab/mmdrop pins on the struct itself. 0 → freed (the slab poisons it). */
  mm_count: { struct: REFCOUNT },
  /** 1 while the mm lives; 0 once freed. Checked by rcuwait_wake_up's caller (§6.4). */
  mm_alive: 1,
  /** an id for reports */
  mm_id: 1,
  /** the mmap_lock rw_semaphore */
  mmap_lock: { struct: RWSEM, hot: true },
  /**
   * u32 sequence: +1 when the mmap write lock is taken and +1 when released (odd = write-locked)
   * in the v6.15 design; in vma_rwsem, +1 only in vma_end_write_all.
   */
  mm_lock_seq: { struct: SEQCOUNT, hot: true },
  /** the rcuwait a vma_refcnt writer sleeps on while readers leave (one waiter at most) */
  vma_writer_wait: { struct: RCUWAIT },
  /** the VMA index's root pointer: RCU-published (RELEASE store, ACQUIRE load) */
  mm_mt: { words: 1, hot: true },
  /** number of VMAs; changed under the mmap write lock */
  map_count: 1,
  /** the page table's top level (it carries its own page_table_lock) */
  pgd: 1,
  /** pages mapped by PTEs (for the frames = mapped + free check) */
  nr_ptes: 1,
});

/** The mm model's globals, published at ROOT.MM: what every worker needs to find. */
export const MM_GLOBALS = defineStruct('mm_globals', {
  /** index into SCHEMES (src/schemes/index.ts) */
  scheme: 1,
  /** MMG_FLAG_* */
  flags: 1,
  /** the vm_area_struct slab (type-safe by RCU for vma_refcnt) */
  vma_cache: 1,
  /** the mm_struct slab */
  mm_cache: 1,
  /** the VMA index's node slab */
  tree_cache: 1,
  /** the SRCU domain of srcu_spf (0 for other schemes) */
  srcu: 1,
  /** mm ids handed out so far */
  next_mm_id: { words: 1, hot: true },
  /**
   * The OOM killer's victim (an mm pointer, pinned with mmgrab) until the OOM reaper has
   * reaped it; 0 when no kill is in progress. Set with cmpxchg from 0, cleared by the reaper.
   */
  oom_victim: 1,
  /** the OOM reaper's task slot pointer, 0 if no reaper runs */
  oom_reaper: 1,
  /**
   * Victims reaped so far (wrapping): bumped by the reaper after it freed a victim's memory.
   * An allocation polling for memory under the controlled scheduler waits for it to move
   * (oom_victim cannot serve: it returns to 0, and may to the same mm, between two looks).
   */
  oom_reaped: 1,
  /** srcu_spf: the SRCU work queue (SRCU_WQ; 0 for other schemes) */
  srcu_wq: 1,
});

/**
 * srcu_spf's SRCU work queue (src/mm/srcu_work.ts): the frees call_srcu defers, as data, so
 * that a task other than the caller — the kworker — can wait out their grace period and run
 * them. A ring of `size` entries of SRCU_WORK_WORDS words, filled at `tail` by any task under
 * `lock`, emptied from `head` under `lock` by the kworker (or, with no kworker, by whoever
 * processes deferred work).
 */
export const SRCU_WQ = defineStruct('srcu_workqueue', {
  /** spinlock: producers and consumers */
  lock: 1,
  /** entries taken so far (wrapping; index = head mod size) */
  head: 1,
  /** entries queued so far (wrapping) */
  tail: 1,
  /** the ring's capacity in entries */
  size: 1,
  /** the ring: size * SRCU_WORK_WORDS words */
  ring: 1,
  /** the kworker's futex word: bumped and notified by each producer while a kworker runs */
  wake: { words: 1, hot: true },
  /** task id + 1 of the running kworker, 0 when none: callers then run the work themselves */
  worker: 1,
});
/** One queued free: kind (SRCU_WORK_*), object, the SRCU grace-period cookie. */
export const SRCU_WORK_WORDS = 3;
export const SRCU_WORK_VMA = 1;
export const SRCU_WORK_PTE_PAGE = 2;

/** MM_GLOBALS.flags bits */
export const MMG_FLAG_ASSERTIONS = 1 << 0;
/** srcu_spf: munmap waits synchronize_srcu() instead of queueing call_srcu() */
export const MMG_FLAG_SYNC_SRCU = 1 << 1;
/** backport to an older scheme: the v6.17 per-VMA /proc/pid/maps walk */
export const MMG_FLAG_BACKPORT_MAPS = 1 << 2;
/** backport to an older scheme: the v6.16 per-VMA MADV_DONTNEED */
export const MMG_FLAG_BACKPORT_MADVISE = 1 << 3;
/** backport to an older scheme: the killable VMA write lock (vma_start_write_killable) */
export const MMG_FLAG_BACKPORT_KILLABLE = 1 << 4;
