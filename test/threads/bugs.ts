// Thread bodies for test/races/bug_*.test.ts: each catalogue entry's race, on real threads, with
// the window forced open by a schedule hook (targeted chaos) where free running rarely hits it.
// The same bodies run the fixed code and the broken variant; only the buffer's bug mask differs.
//
// Flags (args.f, a few words the test allocates) order the threads: a thread sets a flag with an
// atomic store and the other waits for it in bounded sleeps that check the abort flag, so a
// broken variant that strands a thread ends in the harness's abort, never in a hang.

import { vt_find } from '../../src/mm/vma_tree.js';
import { __vt_find, VtRange } from '../../src/mm/vma_tree_read.js';
import { handle_mm_fault } from '../../src/ops/fault.js';
import {
  do_mmap,
  do_mprotect,
  do_munmap,
  exit_mmap,
  FAULT_FLAG_REMOTE,
  handle_user_fault,
  oom_reaper_run,
  PROT_READ,
  PROT_WRITE,
  VM_FAULT_OOM,
} from '../../src/ops/index.js';
import {
  atomic_read,
  atomic_set,
  SP_LOAD,
  SP_RMW,
  set_schedule_hook,
} from '../../src/sched/atomics.js';
import { check_abort, preempt_delay_us, task_set_mm } from '../../src/sched/task.js';
import { scheme } from '../../src/schemes/active.js';
import {
  mmap_read_lock,
  mmap_read_unlock,
  mmap_write_lock,
  mmap_write_unlock,
} from '../../src/schemes/mmap.js';
import { MM, RCUWAIT, VMA } from '../../src/shm/layout/index.js';
import { rcu_read_lock, rcu_read_unlock } from '../../src/sync/rcu.js';
import { rwsem_is_contended } from '../../src/sync/rwsem.js';
import { world_bind } from '../../src/workload/world.js';

/** Flag words, one each (offsets from args.f). */
export const F = { A: 0, B: 1, C: 2, D: 3, STOP: 4 } as const;
export const NR_FLAGS = 6;

function set(f: number, i: number): void {
  atomic_set(f + i, 1);
}

function isSet(f: number, i: number): boolean {
  return atomic_read(f + i) !== 0;
}

/**
 * Wait until cond() holds: bounded 200 µs naps as a preemption (preempt_delay_us), not a sleep
 * on the task's park or fence word, because some waits sit inside an RCU read section, where
 * the qsbr flavour forbids sleeping; abort-checked.
 */
function waitUntil(cond: () => boolean): void {
  while (!cond()) {
    preempt_delay_us(200);
    check_abort();
  }
}

/**
 * Install a schedule hook for this thread. The hook's own atomic steps pass through the hook
 * too: a guard keeps it from recursing.
 */
function hook(fn: (kind: number, what: number) => void): void {
  let inside = false;
  set_schedule_hook((kind, what) => {
    if (inside) return;
    inside = true;
    try {
      fn(kind, what);
    } finally {
      inside = false;
    }
  });
}

function unhook(): void {
  set_schedule_hook(null);
}

export interface VmaArgs {
  readonly f: number;
  readonly mm: number;
  readonly vma: number;
}

// ---- detach-no-wait ---------------------------------------------------------------------------
// A reader increments vm_refcnt after munmap's vma_start_write and re-checks the sequence only
// after vma_mark_detached: the detacher must wait for it.

/** Reader: stop before the increment until the VMA is write-locked, and before the sequence
 * re-check until the detacher waits for us (fixed) or is done (broken). */
export function detachReader(a: VmaArgs): number {
  world_bind();
  const S = scheme();
  let rmw = 0;
  let afterInc = false;
  hook((kind, what) => {
    if (kind === SP_RMW && what === a.vma + VMA.vm_refcnt && rmw++ === 0) {
      set(a.f, F.A);
      waitUntil(() => isSet(a.f, F.B));
      afterInc = true;
    } else if (afterInc && kind === SP_LOAD && what === a.vma + VMA.vm_lock_seq) {
      afterInc = false;
      set(a.f, F.C);
      waitUntil(
        () => isSet(a.f, F.D) || atomic_read(a.mm + MM.vma_writer_wait + RCUWAIT.task) !== 0,
      );
    }
  });
  try {
    rcu_read_lock();
    const got = S.vma_start_read(a.mm, a.vma);
    if (got > 0) S.vma_end_read(got);
    rcu_read_unlock();
    return got;
  } finally {
    unhook();
  }
}

/** Writer: munmap, stopping before vma_mark_detached's decrement until the reader is in. */
export function detachWriter(a: VmaArgs & { start: number; pages: number }): number {
  world_bind();
  waitUntil(() => isSet(a.f, F.A));
  let rmw = 0;
  hook((kind, what) => {
    // vma_start_write: add the offset, drop it; then vma_mark_detached's decrement.
    if (kind === SP_RMW && what === a.vma + VMA.vm_refcnt && ++rmw === 3) {
      set(a.f, F.B);
      waitUntil(() => isSet(a.f, F.C));
    }
  });
  try {
    const ret = do_munmap(a.mm, a.start, a.pages);
    set(a.f, F.D);
    return ret;
  } finally {
    unhook();
  }
}

// ---- detach-before-write-lock ------------------------------------------------------------------

/** Fault the range over and over until the writer is done. */
export function faultLoop(a: { f: number; mm: number; start: number; pages: number }): number {
  world_bind();
  let faults = 0;
  set(a.f, F.A);
  while (!isSet(a.f, F.D)) {
    for (let p = 0; p < a.pages; p++) handle_user_fault(a.mm, a.start + p, false);
    faults++;
    check_abort();
  }
  return faults;
}

/** munmap the range once the faulter runs. */
export function munmapOnce(a: { f: number; mm: number; start: number; pages: number }): number {
  world_bind();
  waitUntil(() => isSet(a.f, F.A));
  try {
    return do_munmap(a.mm, a.start, a.pages);
  } finally {
    set(a.f, F.D);
  }
}

// ---- no-mm-recheck, no-seq-recheck: a reader against a write-locked VMA -------------------------

/** Writer of `mm`: once the reader is ready, write-lock the VMA; hold it until the reader is done. */
export function holdWriteLocked(a: VmaArgs): number {
  world_bind();
  waitUntil(() => isSet(a.f, F.A));
  mmap_write_lock(a.mm);
  try {
    scheme().vma_start_write(a.vma);
    set(a.f, F.B);
    waitUntil(() => isSet(a.f, F.C));
  } finally {
    mmap_write_unlock(a.mm);
  }
  return 0;
}

/** A stale reader of `mm` (its lookup found `vma` before the slot was reused by `other`). */
export function staleReader(a: VmaArgs): number {
  world_bind();
  const S = scheme();
  set(a.f, F.A);
  waitUntil(() => isSet(a.f, F.B));
  try {
    rcu_read_lock();
    const got = S.vma_start_read(a.mm, a.vma);
    rcu_read_unlock();
    if (got > 0) S.vma_end_read(got);
    return got;
  } finally {
    set(a.f, F.C);
  }
}

/** Reader that stops before its increment until the writer has write-locked the VMA. */
export function lateReader(a: VmaArgs): number {
  world_bind();
  const S = scheme();
  let rmw = 0;
  hook((kind, what) => {
    if (kind === SP_RMW && what === a.vma + VMA.vm_refcnt && rmw++ === 0) {
      set(a.f, F.A);
      waitUntil(() => isSet(a.f, F.B));
    }
  });
  try {
    rcu_read_lock();
    const got = S.vma_start_read(a.mm, a.vma);
    rcu_read_unlock();
    unhook();
    if (got > 0) S.vma_end_read(got);
    return got;
  } finally {
    unhook();
    set(a.f, F.C);
  }
}

// ---- put-no-mmgrab ------------------------------------------------------------------------------

/** A stale reader of mm `mm` on `vma`, now reused by `other`: holds its reference until
 * other's munmap waits for it, then stops after its put until `other` is gone. */
export function foreignReader(a: VmaArgs & { other: number }): number {
  world_bind();
  const S = scheme();
  let rmw = 0;
  let put = false;
  hook((kind, what) => {
    if (kind === SP_RMW && what === a.vma + VMA.vm_refcnt && rmw++ === 1) {
      // before the put: let the other mm's writer add the offset and start waiting
      set(a.f, F.A);
      waitUntil(() => isSet(a.f, F.B));
      put = true;
    } else if (put && kind === SP_LOAD && what === a.other + MM.mm_alive) {
      // after the put, before the wake-up: let the writer see the count, finish and exit
      put = false;
      set(a.f, F.C);
      waitUntil(() => isSet(a.f, F.D));
    }
  });
  try {
    rcu_read_lock();
    const got = S.vma_start_read(a.mm, a.vma);
    rcu_read_unlock();
    return got;
  } finally {
    unhook();
  }
}

/** The other mm's writer: munmap the reused VMA (waiting for the stale reader), then exit. */
export function foreignWriter(
  a: VmaArgs & { other: number; start: number; pages: number },
): number {
  world_bind();
  waitUntil(() => isSet(a.f, F.A));
  let added = false;
  hook((kind, what) => {
    if (kind === SP_RMW && what === a.vma + VMA.vm_refcnt) added = true;
    else if (added && kind === SP_LOAD && what === a.vma + VMA.vm_refcnt) {
      // rcuwait_wait_event()'s first look at the condition: the reader puts now
      added = false;
      set(a.f, F.B);
      waitUntil(() => isSet(a.f, F.C));
    }
  });
  try {
    const ret = do_munmap(a.other, a.start, a.pages);
    unhook();
    exit_mmap(a.other);
    return ret;
  } finally {
    unhook();
    set(a.f, F.D);
  }
}

// ---- no-range-recheck ---------------------------------------------------------------------------

/** Fault `addr`, stopping between the index lookup and the lock until the writer is done. */
export function splitFaulter(a: VmaArgs & { addr: number }): number {
  world_bind();
  let stopped = false;
  hook((kind, what) => {
    if (!stopped && kind === SP_LOAD && what === a.vma + VMA.vm_lock_seq) {
      stopped = true;
      set(a.f, F.A);
      waitUntil(() => isSet(a.f, F.B));
    }
  });
  try {
    return handle_user_fault(a.mm, a.addr, false);
  } finally {
    unhook();
  }
}

/** mprotect the lower half of the VMA: it splits, and the VMA keeps only that half. */
export function splitWriter(a: VmaArgs & { start: number; pages: number }): number {
  world_bind();
  waitUntil(() => isSet(a.f, F.A));
  try {
    return do_mprotect(a.mm, a.start, a.pages, PROT_READ);
  } finally {
    set(a.f, F.B);
  }
}

// ---- index-free-no-rcu --------------------------------------------------------------------------

/** An RCU reader of the index: load the root, stop, then walk what it loaded. */
export function treeWalker(a: { f: number; mm: number; addr: number }): number {
  world_bind();
  rcu_read_lock();
  try {
    // rcu_dereference(root): what vt_lookup does first, then the walk from that root
    const root = atomic_read(a.mm + MM.mm_mt);
    set(a.f, F.A);
    waitUntil(() => isSet(a.f, F.B));
    return __vt_find(root, a.addr, new VtRange());
  } finally {
    rcu_read_unlock();
  }
}

/** Replace the root: map a new VMA (path copying retires the old root and its path). */
export function treeWriter(a: { f: number; mm: number; addr: number; pages: number }): number {
  world_bind();
  waitUntil(() => isSet(a.f, F.A));
  try {
    const r = do_mmap(a.mm, a.addr, a.pages, PROT_READ | PROT_WRITE);
    scheme().process_deferred();
    return r;
  } finally {
    set(a.f, F.B);
  }
}

// ---- mmap-write-uninterruptible: the 2016 OOM deadlock -------------------------------------------

export interface OomArgs {
  readonly f: number;
  /** the victim's mm */
  readonly mm: number;
  readonly start: number;
  readonly pages: number;
}

/** A thread of the victim: fault pages until the frame pool runs dry. */
export function oomHog(a: OomArgs): number {
  world_bind();
  task_set_mm(a.mm);
  let n = 0;
  for (; n < a.pages; n++) {
    if (handle_user_fault(a.mm, a.start + n, true) === VM_FAULT_OOM) break;
  }
  set(a.f, F.A);
  return n;
}

/**
 * Another process reading the victim's memory (access_remote_vm): mmap_read_lock, and once the
 * victim's writer queues behind it, a fault whose allocation waits for memory.
 */
export function remoteReader(a: OomArgs & { addr: number }): number {
  world_bind();
  waitUntil(() => isSet(a.f, F.A));
  mmap_read_lock(a.mm);
  let ret = -1;
  try {
    set(a.f, F.B);
    waitUntil(() => rwsem_is_contended(a.mm + MM.mmap_lock));
    ret = handle_mm_fault(a.mm, vt_find(a.mm + MM.mm_mt, a.addr), a.addr, FAULT_FLAG_REMOTE);
  } finally {
    mmap_read_unlock(a.mm);
    set(a.f, F.STOP);
  }
  return ret;
}

/** A second thread of the victim: munmap, queued behind the remote reader. */
export function oomWriter(a: OomArgs & { addr: number }): number {
  world_bind();
  task_set_mm(a.mm);
  waitUntil(() => isSet(a.f, F.B));
  return do_munmap(a.mm, a.addr, 1);
}

/** The OOM reaper kthread, until the reader is done. */
export function oomReaper(a: { f: number }): number {
  world_bind();
  oom_reaper_run(() => isSet(a.f, F.STOP));
  return 0;
}
