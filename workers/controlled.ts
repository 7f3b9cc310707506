// The thread of one task of a controlled run (src/harness/race/engine.ts): a plain
// worker_threads entry, not a piscina task. It attaches to the world, loads the scenario, and
// then runs its task's body once per execution: it waits for the next generation, joins the
// execution (the controlled scheduler's hook), runs the body, leaves, and counts itself
// finished. A body's error goes to the harness as a message.

import { parentPort, workerData } from 'node:worker_threads';
import { HarnessAbort } from '../src/errors.js';
import type { Scenario, ScenarioEnv } from '../src/harness/race/scenario.js';
import { atomic_notify, ctl_add, ctl_load, ctl_relax, ctl_wait } from '../src/sched/atomics.js';
import { set_injected_bugs } from '../src/sched/bugs.js';
import { ctl_begin, ctl_end, ctl_install, ctl_task_exit } from '../src/sched/control.js';
import {
  SPIN_CLOCK_EVERY,
  spin_budget,
  spin_deadline,
  spin_failed,
  spin_succeeded,
} from '../src/sched/spin.js';
import { task_attach } from '../src/sched/task.js';
import { shadow_reset_owned } from '../src/schemes/shadow.js';
import { attachArena } from '../src/shm/arena.js';
import { CTL, HEADER } from '../src/shm/layout/index.js';
import { rcu_forget_callbacks, rcu_forget_reader } from '../src/sync/rcu.js';
import { rwsem_forget_wake_q } from '../src/sync/rwsem_wait.js';
import { srcu_forget_callbacks } from '../src/sync/srcu.js';
import { world_attach, world_bind } from '../src/workload/world.js';

interface TaskData {
  readonly sab: SharedArrayBuffer;
  readonly ctl: number;
  readonly index: number;
  readonly taskId: number;
  readonly module: string;
  readonly world: boolean;
  readonly env: ScenarioEnv;
}

const d = workerData as TaskData;
const port = parentPort!;

if (d.world) world_attach(d.sab, d.taskId);
else {
  attachArena(d.sab);
  task_attach(d.taskId);
}
const mod = (await import(d.module)) as { default?: Scenario };
const scenario = mod.default;
const body = scenario?.tasks[d.index];
if (body === undefined) throw new Error(`${d.module}: no scenario task ${d.index}`);
ctl_install(d.ctl, d.index);
const clockWord = scenario?.clock === undefined ? 0 : (d.env[scenario.clock] as number);
port.postMessage('ready');

/**
 * How long a worker spins on the generation word before it sleeps (src/sched/spin.ts): the
 * ceiling covers the other tasks' rest of the execution and the harness's turn-around (collect,
 * check, the next program).
 */
const genSpin = spin_budget(50, 2000);

/**
 * Wait for the next generation: spin, then sleep in short slices. A sleeper counts itself in
 * CTL.gen_sleepers before it sleeps, so the harness notifies only when someone sleeps: its
 * seq-cst store of the generation and load of gen_sleepers against our seq-cst add and
 * Atomics.wait's atomic check of the word (a Dekker pair: one of us sees the other).
 */
function next_generation(last: number): number {
  const g = d.ctl + CTL.generation;
  const deadline = spin_deadline(genSpin);
  for (let i = 0; ; i++) {
    const v = ctl_load(g);
    if (v !== last) {
      spin_succeeded(genSpin);
      return v;
    }
    if (i % SPIN_CLOCK_EVERY !== 0 || performance.now() < deadline) {
      ctl_relax();
      continue;
    }
    spin_failed(genSpin);
    for (;;) {
      ctl_add(d.ctl + CTL.gen_sleepers, 1);
      ctl_wait(g, last, 50);
      ctl_add(d.ctl + CTL.gen_sleepers, -1);
      const w = ctl_load(g);
      if (w !== last) return w;
    }
  }
}

let gen = 0;
for (;;) {
  gen = next_generation(gen);
  if (gen < 0) break;
  set_injected_bugs(ctl_load(HEADER.bugs));
  // The memory is back as set-up left it: forget what the last execution queued in this
  // thread (callbacks that would free objects now live again) and re-bind the world.
  rcu_forget_callbacks();
  srcu_forget_callbacks();
  // ... and what a body that threw left behind in this thread: an RCU read section it never
  // left, tasks it queued to wake, VMAs it still counted as write-locked.
  rcu_forget_reader();
  rwsem_forget_wake_q();
  shadow_reset_owned();
  if (d.world) world_bind();
  let result = 0;
  let failed = false;
  let aborted = false;
  ctl_begin(clockWord); // the scenario's own clock, if it names one
  try {
    result = body.run(d.env) ?? 0;
  } catch (e) {
    // A HarnessAbort (ExecutionEnded among them) means the execution is over for this task:
    // it leaves without a decision, whatever thread-local flag says otherwise.
    if (e instanceof HarnessAbort) aborted = true;
    else {
      failed = true;
      const err = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      port.postMessage({ gen, index: d.index, error: err });
    }
  }
  if (!aborted) ctl_task_exit(result, failed);
  ctl_end();
  // RELEASE: pairs with the harness's load of finished. Notify only a sleeping harness (the
  // same Dekker pair as above: its store of harness_sleeping, then its wait on finished).
  // Only the last one: the harness waits for all of them.
  const last = ctl_add(d.ctl + CTL.finished, 1) + 1 === scenario!.tasks.length;
  if (last && ctl_load(d.ctl + CTL.harness_sleeping) !== 0) atomic_notify(d.ctl + CTL.finished, 1);
}
port.close();
