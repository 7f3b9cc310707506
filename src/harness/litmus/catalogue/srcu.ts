// SRCU: a reader that started before a grace period is waited for (src/sync/srcu.ts).
//
//   reader:  idx = srcu_read_lock(ssp) [after its srcu_idx load: idxl = 1, hold until `gp1`];
//            p = ptr; got = 1; (hold until obj changes); v = obj; srcu_read_unlock(ssp, idx)
//   other:   (wait for `idxl`); synchronize_srcu(ssp); gp1 = 1   (another updater of ssp)
//   updater: (wait for `got`); ptr = 0 (unpublish); synchronize_srcu(ssp); obj = FREED
//
// The late reader of the classic double scan (the srcu-late-reader race script): preempted
// between its srcu_idx load and its increment across another updater's whole grace period, it
// counts itself on the index that grace period flipped away from and drained; then it picks
// up the object and stays in its section. The updater's grace period must wait for it: scan 1
// (the non-current index) is what sees it. Every wait here is a bounded spin on a shared word
// (hold.ts); a timed-out one just lets the race run unscripted.
//
// An instance has its own srcu_struct (allocated once, by prepare), the published pointer, the
// object's state and the two flags. Results: r0 the pointer the reader saw (1 published, 0 gone),
// r1 the object's state it then read (0 not read, 1 alive, 2 freed).

import { atomic_read, atomic_set, cpu_relax } from '../../../sched/atomics.js';
import { sched_label } from '../../../sched/labels.js';
import {
  init_srcu_struct,
  srcu_read_lock,
  srcu_read_unlock,
  synchronize_srcu,
} from '../../../sync/srcu.js';
import { defineLitmus, type LitmusSpec, type LitmusTest } from '../define.js';
import { hold_until, with_holds } from '../hold.js';
import { set_result } from '../mem.js';

const SSP = 0;
const PTR = 1;
const OBJ = 2;
const GP1 = 3;
const GOT = 4;
const IDXL = 5;
const ALIVE = 1;
const FREED = 2;
/** srcu_read_lock()'s point between its srcu_idx load and its increment (src/sync/srcu.ts) */
const SP_IDX_LOADED = sched_label('srcu_read_lock:idx_loaded');
/**
 * The bound of the reader's stay in its section, in cpu_relax() calls (tens of µs): well above a
 * grace period with no reader to wait for. A fixed reader stays to the bound (the updater waits
 * for it).
 */
const HOLD_SPINS = 3000;
/**
 * The bound of the waits for another actor's step (`gp1`, `got`): longer, since with three
 * actors on two cores the actor that must take that step is often descheduled.
 */
const WAIT_SPINS = 300_000;

function srcuGp(bugs: LitmusSpec['bugs']): LitmusTest {
  return defineLitmus({
    name: bugs === undefined ? 'srcu' : `srcu+${bugs.join('+')}`,
    description:
      'srcu_read_lock against synchronize_srcu: an object unpublished before a grace period is freed only after every reader that could see it has left',
    module: import.meta.url,
    words: 6,
    results: 2,
    ...(bugs === undefined ? {} : { bugs }),
    prepare: (s) => atomic_set(s + SSP, init_srcu_struct()),
    init: (s) => {
      atomic_set(s + PTR, 1);
      atomic_set(s + OBJ, ALIVE);
      atomic_set(s + GP1, 0);
      atomic_set(s + GOT, 0);
      atomic_set(s + IDXL, 0);
    },
    actors: [
      (s, r) => {
        const ssp = atomic_read(s + SSP);
        const idx = with_holds(
          [{ at: SP_IDX_LOADED, mark: s + IDXL, p: s + GP1, spins: WAIT_SPINS }],
          () => srcu_read_lock(ssp),
        );
        const p = atomic_read(s + PTR);
        atomic_set(s + GOT, 1);
        set_result(r, p);
        if (p !== 0) {
          // Stay in the section until the object changes (it must not, before we leave).
          for (let k = 0; k < HOLD_SPINS && atomic_read(s + OBJ) === ALIVE; k++) cpu_relax();
          set_result(r + 1, atomic_read(s + OBJ));
        }
        srcu_read_unlock(ssp, idx);
      },
      (s) => {
        hold_until(s + IDXL, WAIT_SPINS);
        synchronize_srcu(atomic_read(s + SSP));
        atomic_set(s + GP1, 1);
      },
      (s) => {
        hold_until(s + GOT, WAIT_SPINS);
        atomic_set(s + PTR, 0); // unpublish
        synchronize_srcu(atomic_read(s + SSP));
        atomic_set(s + OBJ, FREED); // kfree()
      },
    ],
    outcomes: [
      { id: '0, 0', expect: 'ACCEPTABLE', desc: 'the reader came after the unpublish' },
      { id: '1, 1', expect: 'ACCEPTABLE', desc: 'the reader saw the object, alive until it left' },
      {
        id: '1, 2',
        expect: 'FORBIDDEN',
        desc: 'the object was freed while a reader that had found it was still inside its section',
      },
    ],
    instances: 128,
    // A broken variant stops at its first FORBIDDEN outcome: a generous bound costs nothing.
    iterations: bugs === undefined ? 2_000 : 20_000,
  });
}

// srcu-skip-first-index: the updater's grace period skips scan 1, flips the index back to the
// one the late reader is counted on and scans only the other: it ends, and the object is freed
// under the reader (r1 = 2).
export const SRCU_TESTS: readonly LitmusTest[] = [
  srcuGp(undefined),
  srcuGp(['srcu-skip-first-index']),
];
