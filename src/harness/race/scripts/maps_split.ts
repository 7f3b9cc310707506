// Race script 9: the per-VMA /proc/pid/maps walk racing a split (2025, v6.17's lock_next_vma).
//
// One VMA V = [1000, 1010). The reader starts its walk at address 0, finds V under RCU and
// stops before it read-locks it (LOOKUP_TO_LOCK). An mprotect of [1005, 1010) runs in full:
// it splits V (a new VMA takes [1000, 1005), V keeps [1005, 1010)), changes the upper part and
// unlocks. The reader locks V: V now starts at 1005, above the address the walk
// asked for. The fixed walk checks that nothing lies between: the mmap lock's sequence moved
// since the lookup, so it walks the tree again, finds the new VMA, and takes that one under the
// mmap lock; it reports [1000, 1005) and then [1005, 1010). The broken walk (no gap check)
// reports V from 1005 on: pages 1000..1004, mapped the whole time, are missing (a false gap).
// Then a second mprotect merges the two halves back (the old protection on [1005, 1010)).
// (The tasks' order only sets which task runs on by default when another ends: after the
// split, the reader; so explore reaches the race at its first preemption.)
//
// The check tells a false gap (a bug: a page mapped throughout the read is missing) from a VMA
// reported twice (allowed: the walk is not a snapshot; a VMA that grew below the walk's address
// after its first report, as the merge makes it, is reported again from its start).

import { do_mmap, do_mprotect, PROT_READ, PROT_WRITE, read_maps } from '../../../ops/index.js';
import { plain_read, plain_set } from '../../../sched/atomics.js';
import { arena_alloc } from '../../../shm/arena.js';
import { LINE_WORDS } from '../../../shm/layout/index.js';
import { mm_create } from '../../../workload/world.js';
import type { RaceScript } from '../scenario.js';

const START = 1000;
const PAGES = 10;
const MID = 1005;
/** At most this many lines are recorded (a walk of this world reports at most 3). */
const MAX_LINES = 8;

/** The reader's lines, from its log: [start, end) pairs. Main thread, after an execution. */
function lines(log: number): Array<[number, number]> {
  const n = Math.min(plain_read(log), MAX_LINES);
  const out: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) out.push([plain_read(log + 1 + 2 * i), plain_read(log + 2 + 2 * i)]);
  return out;
}

/** Classify a listing against [START, START + PAGES), mapped throughout the read. */
export function classify(ls: ReadonlyArray<readonly [number, number]>): {
  missing: number[];
  twice: number[];
} {
  const missing: number[] = [];
  const twice: number[] = [];
  for (let p = START; p < START + PAGES; p++) {
    const n = ls.filter(([s, e]) => s <= p && p < e).length;
    if (n === 0) missing.push(p);
    else if (n > 1) twice.push(p);
  }
  return { missing, twice };
}

const range = (ps: readonly number[]): string =>
  ps.length === 0 ? '' : `${ps[0]}..${ps[ps.length - 1]}`;

const script: RaceScript = {
  name: 'maps-split',
  summary: 'the per-VMA /proc/pid/maps walk racing a split: twice is allowed, a false gap is not',
  thread:
    'per-VMA locked /proc/pid/maps reads, linux-mm 2025 (Suren Baghdasaryan, v6.17): the gap check after locking',
  world: { scheme: 'vma_refcnt' },
  bugs: ['maps-no-gap-check'],
  broken:
    'the walk locks the upper half of the split VMA and reports it alone: pages mapped throughout are missing (a false gap)',
  fixed:
    'the walk sees the VMA it locked starts above its address, walks again and reports the lower half first: no gap',
  setup() {
    const mm = mm_create();
    if (do_mmap(mm, START, PAGES, PROT_READ | PROT_WRITE) !== START) {
      throw new Error('mmap failed');
    }
    const log = arena_alloc(1 + 2 * MAX_LINES, LINE_WORDS, 'maps lines');
    return { mm, log };
  },
  tasks: [
    {
      name: 'maps reader',
      run(env) {
        const log = env['log'] as number;
        // The reader's private log: plain stores, no schedule points (the check reads it after).
        plain_set(log, 0);
        return read_maps(env['mm'] as number, true, (s, e) => {
          const n = plain_read(log);
          if (n < MAX_LINES) {
            plain_set(log + 1 + 2 * n, s);
            plain_set(log + 2 + 2 * n, e);
          }
          plain_set(log, n + 1);
        });
      },
    },
    {
      name: 'mprotect (merge)',
      run: (env) =>
        do_mprotect(env['mm'] as number, MID, START + PAGES - MID, PROT_READ | PROT_WRITE),
    },
    {
      name: 'mprotect (split)',
      run: (env) => do_mprotect(env['mm'] as number, MID, START + PAGES - MID, PROT_READ),
    },
  ],
  schedule: [
    ['maps reader', 'LOOKUP_TO_LOCK'],
    ['mprotect (split)', 'end'],
    ['maps reader', 'end'],
    ['mprotect (merge)', 'end'],
  ],
  check(env, exec) {
    if (exec.outcome !== 'done' || exec.tasks.some((t) => t.state !== 'done')) {
      return {
        ok: false,
        text: `unexpected: ${exec.outcome}, ${exec.tasks.map((t) => `${t.name} ${t.state} ${t.error ?? ''}`).join('; ')}`,
      };
    }
    const bad = exec.tasks.slice(1).find((t) => t.result !== 0);
    if (bad !== undefined) return { ok: false, text: `${bad.name} failed: ${bad.result}` };
    const ls = lines(env['log'] as number);
    const shown = ls.map(([s, e]) => `${s}-${e}`).join(' ');
    const { missing, twice } = classify(ls);
    if (missing.length > 0) {
      return {
        ok: false,
        text: `false gap: pages ${range(missing)} were mapped throughout but not reported (${shown})`,
      };
    }
    if (twice.length > 0) {
      return {
        ok: true,
        text: `pages ${range(twice)} reported twice (allowed: the walk is no snapshot), no gap (${shown})`,
      };
    }
    return { ok: true, text: `every page reported once, no gap (${shown})` };
  },
};

export default script;
