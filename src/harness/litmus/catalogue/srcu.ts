// SRCU: a reader that started before a grace period is waited for (src/sync/srcu.ts).
//
//   reader:  idx = srcu_read_lock(ssp); p = ptr; (pause); v = obj; srcu_read_unlock(ssp, idx)
//   updater: ptr = 0 (unpublish); synchronize_srcu(ssp); obj = FREED
//
// An instance has its own srcu_struct (allocated once, by prepare), the published pointer and
// the object's state. Results: r0 the pointer the reader saw (1 published, 0 gone), r1 the
// object's state it then read (0 not read, 1 alive, 2 freed).

import { atomic_read, atomic_set, cpu_relax } from '../../../sched/atomics.js';
import {
  init_srcu_struct,
  srcu_read_lock,
  srcu_read_unlock,
  synchronize_srcu,
} from '../../../sync/srcu.js';
import { defineLitmus, type LitmusSpec, type LitmusTest } from '../define.js';
import { set_result } from '../mem.js';

const SSP = 0;
const PTR = 1;
const OBJ = 2;
const ALIVE = 1;
const FREED = 2;

function srcuGp(bugs: LitmusSpec['bugs']): LitmusTest {
  return defineLitmus({
    name: bugs === undefined ? 'srcu' : `srcu+${bugs.join('+')}`,
    description:
      'srcu_read_lock against synchronize_srcu: an object unpublished before a grace period is freed only after every reader that could see it has left',
    module: import.meta.url,
    words: 3,
    results: 2,
    ...(bugs === undefined ? {} : { bugs }),
    prepare: (s) => atomic_set(s + SSP, init_srcu_struct()),
    init: (s) => {
      atomic_set(s + PTR, 1);
      atomic_set(s + OBJ, ALIVE);
    },
    actors: [
      (s, r) => {
        const ssp = atomic_read(s + SSP);
        const idx = srcu_read_lock(ssp);
        const p = atomic_read(s + PTR);
        set_result(r, p);
        if (p !== 0) {
          // A pause inside the section, so the grace period often has to wait for it.
          for (let k = 0; k < 64; k++) cpu_relax();
          set_result(r + 1, atomic_read(s + OBJ));
        }
        srcu_read_unlock(ssp, idx);
      },
      (s) => {
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
    iterations: 5_000,
  });
}

export const SRCU_TESTS: readonly LitmusTest[] = [srcuGp(undefined)];
