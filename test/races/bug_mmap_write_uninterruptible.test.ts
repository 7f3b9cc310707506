// mmap-write-uninterruptible (src/sched/bugs.ts; the 2016 down_write_killable series): the frame
// pool runs dry; another process reads the victim's memory under its mmap_lock for read and
// waits for memory; the OOM killer picks the victim and kills its threads; one of them queues
// on mmap_write_lock behind the reader; the OOM reaper needs mmap_read_trylock of the victim.
// Fixed (killable write lock) the killed writer leaves the queue, the reaper frees the
// victim's frames and the reader gets its page. Broken (uninterruptible) nothing moves: the
// watchdog reports the hang with the lock state, and the test process does not hang.

import { afterEach, describe, expect, it } from 'vitest';
import { EINTR } from '../../src/errors.js';
import { do_mmap, PROT_READ, PROT_WRITE } from '../../src/ops/index.js';
import { CNT } from '../../src/sched/counters.js';
import { sum_counter } from '../../src/sched/task.js';
import { mm_create } from '../../src/workload/world.js';
import { BUG_THREADS, bugWorld, clearBugs, flags, type Variant } from '../helpers/bugs.js';
import { runThreads } from '../helpers/threads.js';

afterEach(clearBugs);

const PAGES = 64;

function race(variant: Variant): Promise<unknown[]> {
  const { sab } = bugWorld('mmap-write-uninterruptible', variant, {
    scheme: 'mmap_lock',
    frames: 16,
  });
  const mm = mm_create();
  expect(do_mmap(mm, 100, PAGES, PROT_READ | PROT_WRITE)).toBe(100);
  const f = flags();
  const args = { f, mm, start: 100, pages: PAGES };
  return runThreads(
    sab,
    BUG_THREADS,
    [
      { taskId: 1, fn: 'oomHog', args },
      { taskId: 2, fn: 'remoteReader', args: { ...args, addr: 100 + PAGES - 1 } },
      { taskId: 3, fn: 'oomWriter', args: { ...args, addr: 100 + PAGES - 2 } },
      { taskId: 4, fn: 'oomReaper', args: { f } },
    ],
    3_000,
  );
}

describe('bug catalogue: mmap-write-uninterruptible', () => {
  it('fixed: the killed writer leaves the queue, the reaper frees memory, the reader goes on', async () => {
    const [hogged, read, wrote] = await race('fixed');
    expect(hogged).toBeLessThan(PAGES); // the pool ran dry
    expect(read).toBe(0);
    expect(wrote).toBe(EINTR);
    expect(sum_counter(CNT.OOM_KILL, 5)).toBe(1);
    expect(sum_counter(CNT.OOM_REAPED, 5)).toBeGreaterThan(0);
  });

  it('broken: the uninterruptible writer deadlocks the reader and the reaper; the watchdog reports it', async () => {
    const err = await race('broken').then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err).not.toBeNull();
    const msg = err?.message ?? '';
    expect(msg).toMatch(/^watchdog: workers did not finish/);
    // the victim's writer: uninterruptible, killed, still queued on the mmap lock
    expect(msg).toMatch(
      /task 3: uninterruptible, SIGKILL pending, mm \d+; waits in RWSEM_DOWN_WRITE_SLOW/,
    );
    expect(msg).toMatch(
      /mmap_lock count 0x[0-9a-f]+ \[WAITERS (HANDOFF )?readers=1\], owner task 2.*queue \[task 3 W/,
    );
  });
});
