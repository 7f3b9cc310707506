// Setting up one run of a workload, on the main thread: create the world (sized for the
// workload), one mm shared by every worker (they are threads of one process), the faulters'
// VMAs, and the plan of each worker.

import { UsageError } from '../errors.js';
import { MMAP_MIN_PAGE, PTRS_PER_PTE, TASK_SIZE_PAGES } from '../mm/pgtable.js';
import { mmap_region_many, PROT_READ, PROT_WRITE } from '../ops/index.js';
import type { RcuFlavor } from '../sync/rcu.js';
import type { WorkerPlan } from './job.js';
import type { FaulterArgs, PageRange, SpreadArgs, WriterArgs } from './jobs.js';
import {
  type FaultWait,
  runFaultCost,
  type SrcuFree,
  type WorkloadSpec,
  writerCount,
} from './spec.js';
import { type Backport, mm_create, type SchemeName, WORLD_LIMITS, world_create } from './world.js';

export interface RunSetup {
  readonly sab: SharedArrayBuffer;
  readonly mm: number;
  readonly workers: readonly WorkerPlan[];
  /** task slots in the world (workers + the main thread + spare) */
  readonly maxTasks: number;
}

export interface SetupOptions {
  readonly spec: WorkloadSpec;
  readonly scheme: SchemeName;
  readonly srcuFree: SrcuFree;
  /** the RCU flavour (default qsbr) */
  readonly rcu?: RcuFlavor;
  /** faulting workers */
  readonly threads: number;
  /** assertions and tracing on */
  readonly instrumentation: boolean;
  /** op budget per faulter (0: run for a duration) */
  readonly faulterBudget?: number;
  /** rw_semaphore writers spin before queueing (default true, as the kernel) */
  readonly rwsemSpin?: boolean;
  /** newer features on older schemes, by name (default none) */
  readonly backports?: readonly Backport[];
  /** how a sleeping fault waits in this run (default: the workload's first faultWait) */
  readonly faultWait?: FaultWait | null;
}

/** spread layout: pages a faulter holds present before it zaps its oldest (a FIFO). */
export const SPREAD_RING = 64;

/** Pages the faulters may have present at once. */
export function faulterPages(spec: WorkloadSpec, threads: number): number {
  const v = spec.vmas;
  if (v.layout === 'spread') return threads * SPREAD_RING;
  return v.layout === 'shared' ? v.count * v.pages : threads * v.count * v.pages;
}

/** The most pages the faulters may have mapped at once (a world holds twice that in frames). */
export const MAX_FAULTER_PAGES = 65_536;

/**
 * Where the faulters' VMAs go: each starts on a page-table-page boundary with at least one
 * unmapped page after it, so neighbours never merge (mprotect flipping flags back would
 * otherwise fuse them) and private VMAs of different faulters never share a pte page and its
 * lock — as in pft, where each thread's region is far from the others'.
 */
function faulterPlacement(spec: WorkloadSpec): { base: number; stride: number } {
  const pages = spec.vmas.pages;
  const base = Math.ceil(MMAP_MIN_PAGE / PTRS_PER_PTE) * PTRS_PER_PTE;
  // spread: a large mm's small VMAs lie close together, many to a page-table page, a one-page
  // hole after each (so that mprotect never merges neighbours).
  if (spec.vmas.layout === 'spread') return { base, stride: pages + 1 };
  return { base, stride: Math.ceil((pages + 1) / PTRS_PER_PTE) * PTRS_PER_PTE };
}

/** The world a run of `spec` at `threads` faulters needs. */
export function worldShape(spec: WorkloadSpec, threads: number) {
  const writers = writerCount(spec);
  const perFaulter = spec.vmas.layout === 'private' || spec.vmas.layout === 'churn';
  const vmaCount = perFaulter ? threads * spec.vmas.count : spec.vmas.count;
  const spread = spec.vmas.layout === 'spread';
  const { base, stride } = faulterPlacement(spec);
  // Every page the faulters can have present at once, twice over (frees may be deferred).
  const frames = Math.max(1024, 2 * faulterPages(spec, threads) + 256);
  return {
    vmaCount,
    /** one past the last page the faulters' VMAs take */
    end: base + vmaCount * stride,
    // The faulters' pte pages (no two VMAs share one), plus the writers', and never fewer
    // than the world's default for this many frames.
    // churn: every round frees a VMA's pte page, which srcu_spf hands back only after an SRCU
    // grace period; on a loaded machine a thread runs hundreds of rounds in one.
    ptePages: Math.max(
      Math.ceil(frames / 8),
      Math.ceil((vmaCount * stride) / PTRS_PER_PTE) +
        256 +
        writers * 64 +
        (spec.vmas.layout === 'churn' ? vmaCount * 1024 : 0),
    ),
    // + srcu_spf's kworker
    maxTasks: threads + writers + 2,
    // Every VMA that can exist at once, plus room for frees still waiting for a grace period
    // (a large mm: its VMAs once, and the writers' churn).
    maxVmas: spread
      ? vmaCount + 4096 + writers * 1024
      : Math.max(4096, 4 * (vmaCount + writers * 4)),
    frames,
  };
}

/** Throw a UsageError if `spec` cannot run at `threads` faulters; names the field to change. */
export function checkFits(spec: WorkloadSpec, threads: number): void {
  if (spec.vmas.layout === 'spread' && spec.access !== 'uniform' && spec.access !== 'zipf') {
    throw new UsageError(
      `workload ${spec.name}: access ${spec.access} with the spread layout; allowed: uniform, zipf`,
    );
  }
  if (spec.vmas.layout !== 'spread' && spec.access !== 'sequential' && spec.access !== 'random') {
    throw new UsageError(
      `workload ${spec.name}: access ${spec.access} with the ${spec.vmas.layout} layout; allowed: sequential, random`,
    );
  }
  if (spec.vmas.layout === 'shared' && spec.vmas.pages < threads) {
    throw new UsageError(
      `workload ${spec.name}: shared VMAs of ${spec.vmas.pages} pages cannot give each of ${threads} faulters a page; allowed: vmas.pages >= threads`,
    );
  }
  const pages = faulterPages(spec, threads);
  if (pages > MAX_FAULTER_PAGES) {
    throw new UsageError(
      `workload ${spec.name} at ${threads} threads maps ${pages} faulter pages; allowed: at most ${MAX_FAULTER_PAGES} (lower vmas.count or vmas.pages)`,
    );
  }
  const shape = worldShape(spec, threads);
  const [, maxTasks] = WORLD_LIMITS.maxTasks;
  if (shape.maxTasks > maxTasks) {
    throw new UsageError(
      `workload ${spec.name} at ${threads} threads needs ${shape.maxTasks} tasks; allowed: at most ${maxTasks} (faulters + writers + 2)`,
    );
  }
  if (shape.end > TASK_SIZE_PAGES) {
    throw new UsageError(
      `workload ${spec.name} at ${threads} threads places ${shape.vmaCount} VMAs, each on its own page-table page, up to page ${shape.end}; allowed: at most ${TASK_SIZE_PAGES} (lower vmas.count)`,
    );
  }
  const [, maxVmas] = WORLD_LIMITS.maxVmas;
  if (shape.maxVmas > maxVmas) {
    throw new UsageError(
      `workload ${spec.name} at ${threads} threads needs ${shape.maxVmas} VMA slots; allowed: at most ${maxVmas} (lower vmas.count)`,
    );
  }
}

export function setupRun(o: SetupOptions): RunSetup {
  const { spec, threads } = o;
  checkFits(spec, threads);
  const shape = worldShape(spec, threads);
  const { maxTasks, vmaCount } = shape;
  const { sab } = world_create({
    scheme: o.scheme,
    srcuFree: o.srcuFree,
    rcu: o.rcu ?? 'qsbr',
    maxTasks,
    maxMms: 4,
    maxVmas: shape.maxVmas,
    frames: shape.frames,
    ptePages: shape.ptePages,
    padding: true,
    assertions: o.instrumentation,
    rwsemSpin: o.rwsemSpin ?? true,
    backports: o.backports ?? [],
  });
  const mm = mm_create();
  const vmas: PageRange[] = [];
  const pages = spec.vmas.pages;
  const { base, stride } = faulterPlacement(spec);
  const spread: SpreadArgs | null =
    spec.vmas.layout === 'spread'
      ? { base, stride, count: vmaCount, pages, zipf: spec.access === 'zipf', ring: SPREAD_RING }
      : null;
  const churn = spec.vmas.layout === 'churn';
  // One write-locked transaction for all of them: a large mm builds in time linear in its VMAs.
  // churn: the faulters map their own, each round.
  const r = churn ? 0 : mmap_region_many(mm, base, stride, vmaCount, pages, PROT_READ | PROT_WRITE);
  if (r !== 0) {
    throw new Error(`set-up: mmap of ${vmaCount} faulter VMAs of ${pages} pages returned ${r}`);
  }
  // A spread layout is described by `spread`: no list to copy into every worker.
  if (spread === null) {
    for (let i = 0; i < vmaCount; i++) vmas.push({ start: base + i * stride, pages });
  }
  const plans: WorkerPlan[] = [];
  for (let f = 0; f < threads; f++) {
    const regions: PageRange[] = [];
    if (spread !== null) {
      // every faulter picks from every VMA
    } else if (spec.vmas.layout === 'private' || churn) {
      regions.push(...vmas.slice(f * spec.vmas.count, (f + 1) * spec.vmas.count));
    } else {
      // Shared VMAs: faulter f owns the f-th slice of pages of each one.
      for (const v of vmas) {
        const lo = Math.floor((f * v.pages) / threads);
        const hi = Math.floor(((f + 1) * v.pages) / threads);
        if (hi > lo) regions.push({ start: v.start + lo, pages: hi - lo });
      }
    }
    const args: FaulterArgs = {
      mm,
      regions,
      spread,
      churn,
      access: spec.access,
      writeFraction: spec.writeFraction,
      faultCost: runFaultCost(spec, o.faultWait ?? null),
      seed: 0x5eed + f,
    };
    plans.push({ taskId: plans.length + 1, role: 'faulter', args, budget: o.faulterBudget ?? 0 });
  }
  for (const g of spec.writers) {
    for (let i = 0; i < g.count; i++) {
      const args: WriterArgs = {
        mm,
        ops: g.ops,
        thinkUs: g.thinkUs,
        pages: g.pages,
        // churn: the faulters' VMAs come and go; a writer has none to mprotect or madvise.
        targets: churn ? [] : vmas,
        spread,
        seed: 0xc0ffee + plans.length,
      };
      plans.push({ taskId: plans.length + 1, role: 'writer', args, budget: 0 });
    }
  }
  // srcu_spf with call_srcu: the kworker that runs the SRCU callbacks (src/mm/srcu_work.ts).
  if (o.scheme === 'srcu_spf' && o.srcuFree === 'call_srcu') {
    plans.push({ taskId: plans.length + 1, role: 'kworker', args: {}, budget: 0 });
  }
  return { sab, mm, workers: plans, maxTasks };
}
