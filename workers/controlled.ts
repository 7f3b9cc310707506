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
import { set_virtual_clock, task_attach } from '../src/sched/task.js';
import { attachArena } from '../src/shm/arena.js';
import { CTL, HEADER } from '../src/shm/layout/index.js';
import { rcu_forget_callbacks } from '../src/sync/rcu.js';
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

/** Wait for the next generation: spin a little, then sleep in short slices. */
function next_generation(last: number): number {
  const g = d.ctl + CTL.generation;
  for (let i = 0; ; i++) {
    const v = ctl_load(g);
    if (v !== last) return v;
    if (i < 20_000) ctl_relax();
    else ctl_wait(g, v, 50);
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
  if (d.world) world_bind();
  let result = 0;
  let failed = false;
  ctl_begin();
  if (clockWord !== 0) set_virtual_clock(() => ctl_load(clockWord)); // the scenario's own clock
  try {
    result = body.run(d.env) ?? 0;
  } catch (e) {
    if (!(e instanceof HarnessAbort)) {
      failed = true;
      const err = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      port.postMessage({ gen, index: d.index, error: err });
    }
  }
  ctl_task_exit(result, failed);
  ctl_end();
  ctl_add(d.ctl + CTL.finished, 1);
  atomic_notify(d.ctl + CTL.finished, 1);
}
port.close();
