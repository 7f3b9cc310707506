// The lock state of a stuck run, for the watchdog's report (KERNEL.md §7.6): what each task is
// doing and waiting on, every rw_semaphore involved (count bits, owner, queue), every VMA a
// writer waits on (vm_refcnt, vm_lock_seq, the mm's sequence), and each task's last events.
//
// Everything here is a racy snapshot taken WITHOUT any lock: the report is made while tasks are
// stuck, possibly holding the very locks it describes, and it must never block. The walk of
// each queue is bounded (rwsem_describe), so a corrupted list cannot hang it either.

import { atomic_read } from '../sched/atomics.js';
import { event_name } from '../sched/events.js';
import { read_ring } from '../sched/task.js';
import { VMA_LOCK_OFFSET } from '../schemes/vma_refcnt.js';
import { max_tasks, task_ptr } from '../shm/arena.js';
import {
  MM,
  SIGKILL_PENDING,
  TASK,
  TASK_KILLABLE,
  TASK_RUNNING,
  TASK_UNINTERRUPTIBLE,
  VMA,
  WAIT_SITE_NAMES,
} from '../shm/layout/index.js';
import { rwsem_describe } from '../sync/rwsem.js';

const STATE_NAMES: Record<number, string> = {
  [TASK_RUNNING]: 'running',
  [TASK_UNINTERRUPTIBLE]: 'uninterruptible',
  [TASK_KILLABLE]: 'killable',
};

/** vm_refcnt as the kernel documents it: detached, attached, readers, the exclusion flag. */
export function describe_vm_refcnt(c: number): string {
  if (c === 0) return '0 (detached)';
  if ((c & VMA_LOCK_OFFSET) !== 0) {
    return `OFFSET+${c - VMA_LOCK_OFFSET} (a writer excludes readers; ${Math.max(0, c - VMA_LOCK_OFFSET - 1)} still inside)`;
  }
  if (c === 1) return '1 (attached, no reader)';
  return `${c} (attached, ${c - 1} reader${c === 2 ? '' : 's'})`;
}

function describeVma(vma: number): string {
  const mm = atomic_read(vma + VMA.vm_mm);
  const seq = atomic_read(vma + VMA.vm_lock_seq);
  const mmSeq = mm !== 0 ? atomic_read(mm + MM.mm_lock_seq) : 0;
  return (
    `vma ${vma} [${atomic_read(vma + VMA.vm_start)}, ${atomic_read(vma + VMA.vm_end)}) of mm ${mm}: ` +
    `vm_refcnt ${describe_vm_refcnt(atomic_read(vma + VMA.vm_refcnt))}, vm_lock_seq ${seq >>> 0}, ` +
    `mm_lock_seq ${mmSeq >>> 0}${(mmSeq & 1) !== 0 ? ' (odd: mmap write-locked)' : ''}` +
    `${seq === mmSeq ? ' => write-locked' : ''}`
  );
}

/**
 * The lock state of tasks `taskIds` (all tasks when omitted), several lines, each indented by
 * two spaces. Safe to call from the main thread while workers are stuck.
 */
export function describeLockState(taskIds?: readonly number[], events = 8): string {
  const ids = taskIds ?? Array.from({ length: max_tasks() }, (_, i) => i);
  const lines: string[] = ['lock state:'];
  const sems = new Set<number>();
  const vmas = new Set<number>();
  const mms = new Set<number>();
  for (const id of ids) {
    const t = task_ptr(id);
    const state = atomic_read(t + TASK.state);
    const ev = atomic_read(t + TASK.wait_event);
    const addr = atomic_read(t + TASK.wait_addr);
    const obj = atomic_read(t + TASK.wait_obj);
    const mm = atomic_read(t + TASK.mm);
    if (mm !== 0) mms.add(mm);
    let what = 'not waiting';
    if (ev !== 0) {
      what = `waits in ${event_name(ev)} on word ${addr}`;
      if (event_name(ev).startsWith('RWSEM_')) sems.add(addr);
      if (obj !== 0) {
        what += ` for vma ${obj}`;
        vmas.add(obj);
        const vmm = atomic_read(obj + VMA.vm_mm);
        if (vmm !== 0) mms.add(vmm);
      }
    }
    const killed =
      (atomic_read(t + TASK.signal) & SIGKILL_PENDING) !== 0 ? ', SIGKILL pending' : '';
    let lost = 0;
    for (let site = 1; site < WAIT_SITE_NAMES.length; site++) {
      lost += atomic_read(t + TASK.lost_wake + site);
    }
    if (lost > 0) {
      const site = WAIT_SITE_NAMES[atomic_read(t + TASK.lost_wake_site)] ?? '?';
      what += `; ${lost} lost wake-up${lost === 1 ? '' : 's'}, the last in ${site} on word ${atomic_read(t + TASK.lost_wake_addr)}`;
    }
    const ring = read_ring(id)
      .slice(-events)
      .map((e) => `${event_name(e.event)}(${e.a},${e.b})`)
      .join(' ');
    lines.push(
      `  task ${id}: ${STATE_NAMES[state] ?? `state ${state}`}${killed}${mm !== 0 ? `, mm ${mm}` : ''}; ${what}; last events: ${ring === '' ? '(none; tracing off)' : ring}`,
    );
  }
  for (const mm of mms) {
    sems.delete(mm + MM.mmap_lock);
    const seq = atomic_read(mm + MM.mm_lock_seq);
    lines.push(
      `  mm ${mm}: mm_lock_seq ${seq >>> 0}${(seq & 1) !== 0 ? ' (odd)' : ''}; mmap_lock ${rwsem_describe(mm + MM.mmap_lock)}`,
    );
  }
  for (const sem of sems) lines.push(`  rwsem at ${sem}: ${rwsem_describe(sem)}`);
  for (const vma of vmas) lines.push(`  ${describeVma(vma)}`);
  return lines.join('\n');
}
