// The stress job module: what each stress worker does per step (loaded by the runner's worker by
// URL, like src/workload/jobs.ts for bench). Roles:
//
//   faulter  touches its pages (a private VMA and slices of the shared ones) in a fresh random
//            order each round, then MADV_DONTNEED's each region so the next round faults again.
//   writer   mmap + fault + munmap in two steps (a split, then the rest) of unrelated VMAs;
//            mprotect of the middle of a faulters' VMA and back (a split, then a merge);
//            MADV_DONTNEED of a faulters' VMA; /proc/pid/maps reading through per-VMA locks,
//            checking that the faulters' VMAs — never unmapped — show no gap.
//   exiter   a whole address space's life: mm_alloc, mmap and fault, munmap/mmap churn, then
//            exit_mmap; its VMA slots and its mm_struct are reused by the next life and by the
//            other mms while readers may still hold stale pointers to them.
//   hog      burns CPU so that tasks are preempted inside their critical sections.
//   killer   sends SIGKILL to tasks sleeping in killable waits and spurious wake-ups to others.
//   remote   (the oom preset) another process reading the faulters' pages with
//            access_remote_vm: mmap_read_lock, and an allocation that waits for memory, calling
//            the OOM killer, while the pool is dry.
//   reaper   (the oom preset) the OOM reaper: mmap_read_trylock of the victim, then its pages go.
//
// In the oom preset the faulters and writers are the victim's threads (task->mm is the main
// mm): the OOM killer sends them SIGKILL. A killed victim thread has died; its next life starts
// once the reaper has reaped the mm, and a little later (a new process starting), so that the
// remote reader whose allocation waited gets the memory the reaper freed.
//
// Between steps every worker serves the quiescent-point barrier (pause.ts). A failed check
// throws InvariantViolation from the worker: the runner stops the run and reports it with the
// task's last events.

import { EINTR, InvariantViolation, UsageError } from '../../errors.js';
import { mm_globals } from '../../mm/globals.js';
import {
  access_remote_vm,
  do_madvise_dontneed,
  do_mmap,
  do_mprotect,
  do_munmap,
  exit_mmap,
  handle_user_fault,
  OOM_REAP_RETRY_MS,
  oom_reap_once,
  oom_reaper_register,
  oom_reaper_unregister,
  PROT_READ,
  PROT_WRITE,
  read_maps,
  set_fault_cost,
  VM_FAULT_OOM,
  VM_FAULT_RETRY,
  VM_FAULT_SIGSEGV,
} from '../../ops/index.js';
import { atomic_read, atomic_set } from '../../sched/atomics.js';
import { CNT } from '../../sched/counters.js';
import {
  count,
  current,
  fatal_signal_pending,
  flush_signals,
  kill_task,
  schedule_timeout,
  sleep_us,
  spin_ns,
  task_set_mm,
  unpark,
} from '../../sched/task.js';
import { scheme } from '../../schemes/active.js';
import { get_root, task_ptr } from '../../shm/arena.js';
import {
  MM_GLOBALS,
  MMAP_MIN_PAGE,
  ROOT,
  RUN,
  RUN_WORKER,
  run_worker_ptr,
  STRESS,
  TASK,
  TASK_KILLABLE,
  TASK_UNINTERRUPTIBLE,
} from '../../shm/layout/index.js';
import { rcu_read_lock_held } from '../../sync/rcu.js';
import type { Job, JobInit } from '../../workload/job.js';
import type { PageRange } from '../../workload/jobs.js';
import { thinkTime } from '../../workload/loop.js';
import type { FaultCost, WriterOp } from '../../workload/spec.js';
import { mm_create, world_attach } from '../../workload/world.js';
import { type ChaosConfig, install_chaos, rng, taskSeed } from './chaos.js';
import { pause_leave, pause_point, pause_reset } from './pause.js';

const RW = PROT_READ | PROT_WRITE;

/** What every stress worker's args carry. */
export interface StressCommon {
  readonly chaos: ChaosConfig;
  readonly seed: number;
}

export interface StressFaulterArgs extends StressCommon {
  readonly mm: number;
  readonly regions: readonly PageRange[];
  readonly writeFraction: number;
  readonly faultCost: FaultCost;
  /**
   * The writers' churn zones: about one fault in `zoneFraction` goes to a random page there,
   * where a writer maps and unmaps (0, or SIGSEGV when nothing is mapped: both are fine).
   */
  readonly zones: readonly PageRange[];
  readonly zoneFraction: number;
  /**
   * The exiters' zones in this mm (also in `zones`): one fault in `exiterZoneFraction` more goes
   * to a random page there, where each exiter unmaps the mapping and maps one in its own mm that
   * gets the same slot (0: none beyond their share of zoneFraction).
   */
  readonly exiterZones: readonly PageRange[];
  readonly exiterZoneFraction: number;
  /** a thread of the OOM killer's victim (the oom preset): a fault may find the pool dry */
  readonly oomVictim?: boolean;
}

export interface StressWriterArgs extends StressCommon {
  readonly mm: number;
  readonly ops: Readonly<Partial<Record<WriterOp, number>>>;
  readonly thinkUs: number;
  readonly pages: number;
  /** the faulters' VMAs: mprotect and madvise act on them; maps must always show them whole */
  readonly targets: readonly PageRange[];
  /** where this writer's mmap/munmap churn happens (faulters fault there too) */
  readonly zone: PageRange;
  /** a thread of the OOM killer's victim (the oom preset) */
  readonly oomVictim?: boolean;
}

export interface StressRemoteArgs extends StressCommon {
  /** the victim's mm, and the pages read there */
  readonly mm: number;
  readonly targets: readonly PageRange[];
}

export interface StressReaperArgs extends StressCommon {
  /** the remote readers' worker indices: the reaper outlasts them (see reaper()) */
  readonly remotes: readonly number[];
}

export interface StressExiterArgs extends StressCommon {
  /** this exiter's slot in STRESS.mms */
  readonly slot: number;
  readonly vmas: number;
  readonly pages: number;
  /** churn steps per life before exit_mmap */
  readonly steps: number;
  /**
   * The main mm and the faulters' VMAs in it: each churn step also splits and merges one of
   * them (mprotect there and back), so VMA slots freed in one mm are allocated in the other
   * from this task's slab cache — type-safe reuse across mms while faulters look them up.
   */
  readonly mainMm: number;
  readonly targets: readonly PageRange[];
  /**
   * This exiter's zone in the main mm (faulters fault there too), or null: each churn step
   * unmaps its mapping there just before mapping a VMA in its own mm, which then gets that slot.
   */
  readonly zone: PageRange | null;
}

export interface StressHogArgs extends StressCommon {
  readonly spinUs: number;
}

export interface StressKillerArgs extends StressCommon {
  /** task ids that may be killed or woken */
  readonly targets: readonly number[];
  /** kills (and spurious wake-ups) per second */
  readonly rate: number;
}

export const STRESS_ROLES = [
  'faulter',
  'writer',
  'exiter',
  'hog',
  'killer',
  'remote',
  'reaper',
] as const;

/** After the reap, how long a killed victim thread stays dead: a new process starting. */
const OOM_RESTART_US = 30_000;

export function attach(sab: SharedArrayBuffer, taskId: number): void {
  world_attach(sab, taskId);
}

export function createJob(init: JobInit): Job {
  const common = init.args as StressCommon;
  install_chaos(common.chaos, taskSeed(common.seed, init.taskId));
  const stress = get_root(ROOT.STRESS);
  pause_reset();
  const rand = rng(taskSeed(common.seed ^ 0x5a5a5a5a, init.taskId));
  let job: Job;
  switch (init.role) {
    case 'faulter':
      job = faulter(init.args as StressFaulterArgs, rand);
      break;
    case 'writer':
      job = writer(init.args as StressWriterArgs, init.run, rand);
      break;
    case 'exiter':
      job = exiter(init.args as StressExiterArgs, stress, rand);
      break;
    case 'hog':
      job = hog(init.args as StressHogArgs);
      break;
    case 'killer':
      job = killer(init.args as StressKillerArgs, init.run, rand);
      break;
    case 'remote':
      job = remote(init.args as StressRemoteArgs, rand);
      break;
    case 'reaper':
      job = reaper(init.args as StressReaperArgs, init.run);
      break;
    default:
      throw new UsageError(`stress role ${init.role}: allowed ${STRESS_ROLES.join(', ')}`);
  }
  const inner = job;
  const victim = (init.args as { oomVictim?: boolean }).oomVictim === true;
  if (victim) task_set_mm((init.args as StressFaulterArgs).mm);
  return {
    kinds: inner.kinds,
    step: () => inner.step(),
    between(): void {
      inner.between?.();
      // A task killed during the step has died; the next step is a new life of the task. The
      // signal goes first: an OOM kill that lands while a dead victim thread waits to restart
      // must stay pending for its new life. (Flushed after the wait, it was lost: the new life
      // queued killable behind the remote reader, and the reaper's trylock failed for ever.)
      if (fatal_signal_pending()) {
        flush_signals();
        if (victim) oom_victim_dead(stress, init.run);
      }
      pause_point(stress, init.run);
    },
    finish(): void {
      pause_leave(stress);
      inner.finish?.();
      // After a failure this task may have unwound out of an RCU section, and the run's first
      // error must stay the one reported: run the deferred frees only on a clean exit.
      if (atomic_read(init.run + RUN.failed) === 0 && !rcu_read_lock_held()) scheme().barrier();
    },
  };
}

/**
 * A thread of the OOM victim was killed: it stays dead until the reaper has reaped the mm (the
 * victim mm is no longer MM_GLOBALS.oom_victim), then while a new process starts. Serves the
 * quiescent-point barrier meanwhile; every sleep is a bounded slice.
 */
function oom_victim_dead(stress: number, run: number): void {
  const g = mm_globals().ptr;
  const mm = atomic_read(current() + TASK.mm);
  while (atomic_read(g + MM_GLOBALS.oom_victim) === mm && atomic_read(run + RUN.stop) === 0) {
    pause_point(stress, run);
    schedule_timeout(OOM_REAP_RETRY_MS);
  }
  sleep_us(OOM_RESTART_US);
}

/** An operation's -EINTR (or a fault's RETRY) is only legal when the task was killed. */
function killed(what: string, r: number): void {
  if (!fatal_signal_pending()) {
    throw new Error(`${what} returned ${r} with no fatal signal pending`);
  }
  count(CNT.CHAOS_KILL_EINTR);
}

function shuffle(a: Int32Array, rand: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}

function faulter(a: StressFaulterArgs, rand: () => number): Job {
  set_fault_cost(a.faultCost);
  const oom = a.oomVictim === true;
  const total = a.regions.reduce((s, r) => s + r.pages, 0);
  const order = new Int32Array(total);
  let n = 0;
  for (const r of a.regions) for (let p = 0; p < r.pages; p++) order[n++] = r.start + p;
  shuffle(order, rand);
  let next = 0;
  let zap = 0;
  return {
    kinds: ['fault', 'madvise'],
    step(): number {
      // (No draw when exiterZoneFraction is 0: the other runs' seeded choices stay as they were.)
      const ez = a.exiterZoneFraction > 0 && rand() < a.exiterZoneFraction;
      if (ez || (a.zones.length > 0 && rand() < a.zoneFraction)) {
        const zs = ez ? a.exiterZones : a.zones;
        const z = zs[Math.floor(rand() * zs.length)]!;
        const addr = z.start + Math.floor(rand() * z.pages);
        const r = handle_user_fault(a.mm, addr, rand() < a.writeFraction);
        if (r === VM_FAULT_RETRY) killed(`fault at page ${addr}`, r);
        else if (r !== 0 && r !== VM_FAULT_SIGSEGV && !(oom && r === VM_FAULT_OOM)) {
          throw new Error(`fault at page ${addr} returned VM_FAULT 0x${r.toString(16)}`);
        }
        return 0;
      }
      if (next < total) {
        const addr = order[next++]!;
        const r = handle_user_fault(a.mm, addr, rand() < a.writeFraction);
        // SIGSEGV: a writer mprotected the VMA read-only. RETRY: the task was killed. OOM: the
        // pool is dry (the oom preset: the remote reader's allocation calls the OOM killer).
        if (r === VM_FAULT_RETRY) killed(`fault at page ${addr}`, r);
        else if (r !== 0 && r !== VM_FAULT_SIGSEGV && !(oom && r === VM_FAULT_OOM)) {
          throw new Error(`fault at page ${addr} returned VM_FAULT 0x${r.toString(16)}`);
        }
        return 0;
      }
      const reg = a.regions[zap++]!;
      // Its mmap read lock is not killable (as the kernel's): a kill shows at the next step.
      const r = do_madvise_dontneed(a.mm, reg.start, reg.pages);
      if (r !== 0) throw new Error(`madvise(DONTNEED) at ${reg.start} returned ${r}`);
      if (zap === a.regions.length) {
        zap = 0;
        next = 0;
        shuffle(order, rand);
      }
      return 1;
    },
  };
}

/** The faulters' VMAs must appear whole in every listing: a hole is a false gap (§6.7). */
function checkNoGap(targets: readonly PageRange[], seen: ReadonlyArray<[number, number]>): void {
  for (const t of targets) {
    let at = t.start;
    for (const [s, e] of seen) if (s <= at && e > at) at = e;
    if (at < t.start + t.pages) {
      throw new InvariantViolation(
        `maps: false gap at page ${at} inside [${t.start}, ${t.start + t.pages}), a VMA never unmapped`,
      );
    }
  }
}

function writer(a: StressWriterArgs, run: number, rand: () => number): Job {
  const picks: Array<[WriterOp, number]> = [];
  let sum = 0;
  for (const [op, w] of Object.entries(a.ops) as Array<[WriterOp, number]>) {
    if (w > 0) {
      sum += w;
      picks.push([op, sum]);
    }
  }
  const pick = (): WriterOp => {
    const x = rand() * sum;
    for (const [op, upTo] of picks) if (x < upTo) return op;
    return picks[picks.length - 1]![0];
  };
  // mprotect state: the middle of target i is read-only while ro[i] is 1.
  const ro = new Uint8Array(a.targets.length);
  let mapped = 0;
  let left = 0;
  const seen: Array<[number, number]> = [];
  const out = (s: number, e: number): void => {
    seen.push([s, e]);
  };
  return {
    kinds: ['mmap', 'munmap', 'mprotect', 'maps', 'madvise'],
    step(): number {
      if (left > 0) {
        // Unmap piecewise: a head (a split), then the rest, one munmap per step.
        const head = left > 1 ? 1 + Math.floor(rand() * (left - 1)) : 1;
        const r = do_munmap(a.mm, mapped, head);
        if (r === EINTR) killed('munmap', r);
        else if (r !== 0) throw new Error(`munmap of ${head} pages at ${mapped} returned ${r}`);
        else {
          mapped += head;
          left -= head;
        }
        return 1;
      }
      if (picks.length === 0 || a.targets.length === 0) return 3;
      switch (pick()) {
        case 'mmapMunmap': {
          const at = a.zone.start + Math.floor(rand() * (a.zone.pages - a.pages + 1));
          const r = do_mmap(a.mm, at, a.pages, RW);
          if (r === EINTR) {
            killed('mmap', r);
            return 0;
          }
          if (r < 0) throw new Error(`mmap of ${a.pages} pages returned ${r}`);
          mapped = r;
          left = a.pages;
          for (let p = 0; p < a.pages; p += 5) {
            const f = handle_user_fault(a.mm, r + p, true);
            if (f === VM_FAULT_RETRY) killed('fault', f);
            else if (f !== 0 && !(a.oomVictim === true && f === VM_FAULT_OOM))
              throw new Error(`fault in a fresh mapping at ${r + p}: 0x${f.toString(16)}`);
          }
          return 0;
        }
        case 'mprotect': {
          const i = Math.floor(rand() * a.targets.length);
          const t = a.targets[i]!;
          const len = Math.max(1, t.pages >> 1);
          const r = do_mprotect(a.mm, t.start + (t.pages >> 2), len, ro[i] ? RW : PROT_READ);
          if (r === EINTR) killed('mprotect', r);
          else if (r !== 0) throw new Error(`mprotect at ${t.start} returned ${r}`);
          else ro[i] = ro[i] ? 0 : 1;
          return 2;
        }
        case 'maps': {
          seen.length = 0;
          const r = read_maps(a.mm, true, out);
          if (r === EINTR) killed('read_maps', r);
          else if (r < 0) throw new Error(`read_maps returned ${r}`);
          else checkNoGap(a.targets, seen);
          return 3;
        }
        case 'madvise': {
          const t = a.targets[Math.floor(rand() * a.targets.length)]!;
          const r = do_madvise_dontneed(a.mm, t.start, t.pages); // not killable, as above
          if (r !== 0) throw new Error(`madvise(DONTNEED) at ${t.start} returned ${r}`);
          return 4;
        }
      }
    },
    between(): void {
      thinkTime(run, a.thinkUs);
    },
  };
}

/** Where an exiter's own mappings start (page number, in its own mm). */
const EXITER_MAP_BASE = MMAP_MIN_PAGE;

function exiter(a: StressExiterArgs, stress: number, rand: () => number): Job {
  const slot = stress + STRESS.mms + a.slot;
  let mm = 0;
  let steps = 0;
  let zoneMapped = false;
  const starts: number[] = [];
  /**
   * mmap of this life's i-th mapping, with retries across kills: a life's set-up must finish.
   * With a zone, each mapping has its own place with a page of gap on both sides, so a new one never merges
   * with a neighbour: it is a new VMA, taken from this task's slab cache — the slot the munmap
   * in the main mm's zone has just freed, when there is one.
   */
  const map = (i: number): number => {
    // Without a zone the kernel picks the place (and may merge): the slot flow between the two
    // mms that the other catalogue entries' defaults (no-mm-recheck) were measured with.
    const at = a.zone === null ? 0 : EXITER_MAP_BASE + i * (a.pages + 2);
    for (;;) {
      const r = do_mmap(mm, at, a.pages, RW);
      if (r !== EINTR) {
        if (at === 0 ? r < 0 : r !== at)
          throw new Error(`exiter: mmap of ${a.pages} pages at ${at} returned ${r}`);
        return r;
      }
      killed('mmap', r);
      flush_signals();
    }
  };
  /** Map the zone in the main mm again if it is not (a kill leaves it for the next try). */
  const mapZone = (): void => {
    if (a.zone === null || zoneMapped) return;
    const m = do_mmap(a.mainMm, a.zone.start, a.zone.pages, RW);
    if (m === EINTR) killed('mmap', m);
    else if (m !== a.zone.start) throw new Error(`exiter: mmap in the main mm returned ${m}`);
    else zoneMapped = true;
    flush_signals();
  };
  return {
    kinds: ['mm_alloc', 'churn', 'exit_mmap'],
    step(): number {
      if (mm === 0) {
        mm = mm_create();
        starts.length = 0;
        for (let i = 0; i < a.vmas; i++) starts.push(map(i));
        atomic_set(slot, mm); // the checker validates it at the next pause
        steps = 0;
        return 0;
      }
      if (steps++ < a.steps) {
        for (let k = 0; k < 2; k++) {
          const t = a.targets[Math.floor(rand() * a.targets.length)];
          if (t === undefined || t.pages < 3) break;
          const at = t.start + 1 + Math.floor(rand() * (t.pages - 2));
          const len = 1 + Math.floor(rand() * (t.start + t.pages - at - 1));
          for (const prot of [PROT_READ, RW]) {
            const r = do_mprotect(a.mainMm, at, len, prot);
            if (r === EINTR) killed('mprotect', r);
            else if (r !== 0) throw new Error(`exiter: mprotect at ${at} returned ${r}`);
          }
          flush_signals();
        }
        const i = Math.floor(rand() * starts.length);
        for (let p = 0; p < a.pages; p += 3) {
          const f = handle_user_fault(mm, starts[i]! + p, true);
          if (f === VM_FAULT_RETRY) killed('fault', f);
          else if (f !== 0)
            throw new Error(`exiter: fault at ${starts[i]! + p}: 0x${f.toString(16)}`);
        }
        const j = Math.floor(rand() * starts.length);
        const r = do_munmap(mm, starts[j]!, a.pages);
        if (r === EINTR) killed('munmap', r);
        else if (r !== 0) throw new Error(`exiter: munmap returned ${r}`);
        else {
          flush_signals();
          // Unmap the mapping in the main mm's zone just before the new VMA here is allocated:
          // its slot, which faulters may have just looked up there, is the one this mm gets.
          if (a.zone !== null && zoneMapped) {
            const u = do_munmap(a.mainMm, a.zone.start, a.zone.pages);
            if (u === EINTR) killed('munmap', u);
            else if (u !== 0) throw new Error(`exiter: munmap in the main mm returned ${u}`);
            else zoneMapped = false;
            flush_signals();
          }
          starts[j] = map(j);
        }
        // After the life's last churn step the exit comes next, while a faulter that locked
        // the slot just moved here may still hold it: the zone is mapped again after the exit.
        if (steps < a.steps) mapZone();
        return 1;
      }
      // The last user goes: the mm's VMAs and then the mm_struct itself are freed.
      atomic_set(slot, 0);
      exit_mmap(mm);
      mm = 0;
      mapZone();
      return 2;
    },
  };
}

function remote(a: StressRemoteArgs, rand: () => number): Job {
  return {
    kinds: ['access'],
    step(): number {
      const t = a.targets[Math.floor(rand() * a.targets.length)]!;
      const addr = t.start + Math.floor(rand() * t.pages);
      // 0; SIGSEGV where a writer's mprotect is; RETRY when chaos killed it while it waited
      // for the victim's mmap lock (taken killable, as the current kernel does).
      const r = access_remote_vm(a.mm, addr, false);
      if (r === VM_FAULT_RETRY) killed(`access_remote_vm at page ${addr}`, r);
      else if (r !== 0 && r !== VM_FAULT_SIGSEGV) {
        throw new Error(`access_remote_vm at page ${addr} returned VM_FAULT 0x${r.toString(16)}`);
      }
      return 0;
    },
  };
}

function reaper(a: StressReaperArgs, run: number): Job {
  oom_reaper_register();
  const once = (): number => {
    const r = oom_reap_once();
    if (r > 0) return 0;
    // No victim, or its mmap_read_trylock failed: sleep until out_of_memory() wakes us.
    schedule_timeout(OOM_REAP_RETRY_MS);
    return 1;
  };
  return {
    kinds: ['reap', 'retry'],
    step: once,
    finish(): void {
      // The OOM reaper is a kernel thread: it does not stop before the remote readers, whose
      // last allocation may still wait for it when the run ends. Abort-checked slices.
      while (a.remotes.some((i) => atomic_read(run_worker_ptr(run, i) + RUN_WORKER.exited) === 0))
        once();
      oom_reaper_unregister();
    },
  };
}

function hog(a: StressHogArgs): Job {
  return {
    kinds: ['spin'],
    step(): number {
      spin_ns(a.spinUs * 1000);
      return 0;
    },
  };
}

function killer(a: StressKillerArgs, run: number, rand: () => number): Job {
  const me = current();
  return {
    kinds: ['kill', 'wake'],
    step(): number {
      // Look for a sleeper, from a random place: a task in a killable wait gets SIGKILL, one
      // in an uninterruptible wait a spurious wake-up; when nobody sleeps, a random task gets
      // a wake-up token it will find at its next sleep.
      const n = a.targets.length;
      if (n === 0) return 1;
      const from = Math.floor(rand() * n);
      for (let i = 0; i < n; i++) {
        const t = task_ptr(a.targets[(from + i) % n]!);
        if (t === me) continue;
        const state = atomic_read(t + TASK.state);
        if (state === TASK_KILLABLE) {
          kill_task(t);
          count(CNT.CHAOS_KILL);
          return 0;
        }
        if (state === TASK_UNINTERRUPTIBLE) {
          unpark(t);
          count(CNT.CHAOS_SPURIOUS_WAKE);
          return 1;
        }
      }
      const t = task_ptr(a.targets[from]!);
      if (t !== me) {
        unpark(t);
        count(CNT.CHAOS_SPURIOUS_WAKE);
      }
      return 1;
    },
    between(): void {
      thinkTime(run, a.rate > 0 ? 1e6 / a.rate : 100_000);
    },
  };
}
