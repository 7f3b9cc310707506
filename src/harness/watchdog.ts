// The watchdog: a run must never hang. The runner calls check() every few tens of ms; a worker
// whose progress tick (TASK.progress, bumped by the loop after each operation) has not moved
// for `boundMs` while it is still in its loop counts as stalled. The runner then calls
// abort_all(), so every bounded wait unwinds with HarnessAbort, and reports every worker's last
// events, read before the unwinding adds its own.

import { atomic_read } from '../sched/atomics.js';
import { event_name } from '../sched/events.js';
import { read_ring } from '../sched/task.js';
import { task_ptr } from '../shm/arena.js';
import { RUN_WORKER, TASK } from '../shm/layout/index.js';

export interface WatchedWorker {
  readonly taskId: number;
  readonly role: string;
  /** word index of its RUN_WORKER slot */
  readonly slot: number;
}

export class Watchdog {
  private readonly last: number[];
  private readonly since: number[];

  constructor(
    private readonly workers: readonly WatchedWorker[],
    readonly boundMs: number,
    now: number,
  ) {
    this.last = workers.map((w) => this.progress(w));
    this.since = workers.map(() => now);
  }

  private progress(w: WatchedWorker): number {
    return atomic_read(task_ptr(w.taskId) + TASK.progress);
  }

  /** Indices of workers stalled for longer than the bound (empty: all is well). */
  check(now: number): number[] {
    const stalled: number[] = [];
    this.workers.forEach((w, i) => {
      const p = this.progress(w);
      if (p !== this.last[i] || atomic_read(w.slot + RUN_WORKER.exited) !== 0) {
        this.last[i] = p;
        this.since[i] = now;
      } else if (now - this.since[i]! > this.boundMs) {
        stalled.push(i);
      }
    });
    return stalled;
  }
}

/** One line per worker: role, task, where it waits, and its last events (oldest first). */
export function describeWorkers(workers: readonly WatchedWorker[], events = 10): string {
  return workers.map((w, i) => `  ${describeTask(i, w, events)}`).join('\n');
}

export function describeTask(index: number, w: WatchedWorker, events = 10): string {
  const t = task_ptr(w.taskId);
  const waitEv = atomic_read(t + TASK.wait_event);
  const where =
    waitEv !== 0
      ? ` waiting in ${event_name(waitEv)} on word ${atomic_read(t + TASK.wait_addr)};`
      : '';
  const ring = read_ring(w.taskId)
    .slice(-events)
    .map((e) => `${event_name(e.event)}(${e.a},${e.b})`)
    .join(' ');
  const ops = atomic_read(w.slot + RUN_WORKER.ops);
  return `worker ${index} (task ${w.taskId}, ${w.role}, ${ops} ops):${where} last events: ${ring === '' ? '(none; tracing off)' : ring}`;
}
