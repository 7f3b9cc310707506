// faultline as a library: the public API (`import { ... } from 'faultline'`).
//
// Stability. Everything exported from this file is public: it keeps its name and meaning across
// minor versions (0.x: a breaking change bumps the minor version and is listed in the README).
// Anything reached any other way (deep imports of dist/ files, which the package's `exports`
// map does not allow anyway) is internal and may change in any release. Shared-memory offsets
// are public only as the struct objects below (`REFCOUNT.refs`, `RWSEM.SIZE`, ...): never write
// a number for an offset.
//
// Three uses:
// 1. Litmus tests: defineLitmus() in a module a worker thread can import (JavaScript), then
//    runLitmus(); the same runner as `faultline litmus`, whose catalogue is CATALOGUE.
// 2. Primitives on your own buffer: createArena(), arena_alloc() the words, init them on the
//    main thread (task 0), then runThreads() to run your module's functions as tasks on worker
//    threads, each calling refcount_t / rw_semaphore / rcuwait / seqcount / RCU / SRCU
//    functions on those words.
// 3. Free-running stress: runThreads() with functions that loop until a stop word is set (or a
//    count is reached); its watchdog bounds the run.
// 4. Controlled scenarios and race scripts (the types of `faultline race` / `faultline explore`):
//    a Scenario module whose default export the controlled scheduler loads in each task thread;
//    runRace() replays a script's schedule, explore() searches interleavings.

export {
  EINTR,
  FaultlineError,
  HarnessAbort,
  InvariantViolation,
  LayoutError,
  LockStateError,
  SlabExhausted,
} from './errors.js';
export { CATALOGUE, selectLitmus } from './harness/litmus/catalogue/index.js';
// ---- litmus ---------------------------------------------------------------------------------
export {
  classify,
  defineLitmus,
  EXPECTS,
  type Expect,
  type LitmusFn,
  type LitmusSpec,
  type LitmusTest,
  MAX_ACTORS,
  MIN_ACTORS,
  type OutcomeSpec,
} from './harness/litmus/define.js';
export { ATOMICS, type Mem, PLAIN, set_result } from './harness/litmus/mem.js';
export {
  type LitmusReport,
  litmusHtml,
  litmusJson,
  litmusJunit,
  litmusReport,
  renderLitmusResult,
  renderLitmusTable,
} from './harness/litmus/report.js';
export {
  type LitmusOptions,
  type LitmusResult,
  type LitmusRow,
  runLitmus,
} from './harness/litmus/run.js';
export { machineInfo } from './harness/machine.js';
export { ControlledRun, type Execution, variantMask } from './harness/race/engine.js';
export { type ExploreOptions, type ExploreResult, explore } from './harness/race/explore.js';
export { type RaceResult, runRace, type Variant } from './harness/race/race.js';
export { RACE_SCRIPTS } from './harness/race/registry.js';
// ---- controlled scenarios and race scripts ---------------------------------------------------
export type {
  ExecOutcome,
  ExecView,
  PassedLabel,
  RaceScript,
  Scenario,
  ScenarioEnv,
  ScenarioTask,
  ScriptStep,
  TaskEnd,
  Verdict,
} from './harness/race/scenario.js';

// ---- threads -------------------------------------------------------------------------------
export { type RunThreadsOptions, runThreads, type ThreadTask } from './harness/threads.js';
export {
  atomic_cmpxchg,
  atomic_fetch_add,
  atomic_fetch_and,
  atomic_fetch_or,
  atomic_fetch_sub,
  atomic_notify,
  atomic_read,
  atomic_set,
  atomic_wait,
  atomic_xchg,
  cpu_relax,
  plain_read,
  plain_set,
  smp_mb,
} from './sched/atomics.js';
export {
  BUG,
  BUGS,
  type BugInfo,
  type BugName,
  bug_by_name,
  bug_mask,
  bug_names,
} from './sched/bugs.js';
export {
  check_abort,
  current,
  current_id,
  fatal_signal_pending,
  kill_task,
  task_attach,
} from './sched/task.js';
// ---- the shared buffer and tasks --------------------------------------------------------------
export {
  type Arena,
  type ArenaConfig,
  arena_alloc,
  attachArena,
  createArena,
  DEFAULT_ARENA,
} from './shm/arena.js';
export {
  COMPLETION,
  LINE_WORDS,
  RCUWAIT,
  REFCOUNT,
  RWSEM,
  SEQCOUNT,
  SPINLOCK,
  TASK_KILLABLE,
  TASK_UNINTERRUPTIBLE,
  WORD_BYTES,
} from './shm/layout/index.js';
export {
  complete,
  complete_all,
  init_completion,
  try_wait_for_completion,
  wait_for_completion,
  wait_for_completion_killable,
} from './sync/completion.js';
export {
  call_rcu,
  rcu_barrier,
  rcu_init,
  rcu_read_lock,
  rcu_read_unlock,
  synchronize_rcu,
} from './sync/rcu.js';
export {
  RCUWAIT_SLICE_MS,
  rcuwait_active,
  rcuwait_init,
  rcuwait_wait_event,
  rcuwait_wake_up,
} from './sync/rcuwait.js';
// ---- primitives ------------------------------------------------------------------------------
export {
  REFCOUNT_MAX,
  REFCOUNT_SATURATED,
  refcount_add,
  refcount_add_not_zero,
  refcount_dec,
  refcount_dec_and_test,
  refcount_inc,
  refcount_inc_not_zero,
  refcount_inc_not_zero_acquire,
  refcount_inc_not_zero_limited_acquire,
  refcount_read,
  refcount_set,
  refcount_set_release,
  refcount_sub_and_test,
  refcount_warnings,
  refcount_warnings_total,
} from './sync/refcount.js';
export {
  down_read,
  down_read_killable,
  down_read_trylock,
  down_write,
  down_write_killable,
  down_write_trylock,
  downgrade_write,
  init_rwsem,
  rwsem_is_locked,
  up_read,
  up_write,
} from './sync/rwsem.js';
export {
  raw_read_seqcount,
  read_seqcount_begin,
  read_seqcount_retry,
  seqcount_init,
  write_seqcount_begin,
  write_seqcount_end,
} from './sync/seqcount.js';
export { spin_lock, spin_lock_init, spin_trylock, spin_unlock } from './sync/spinlock.js';
export {
  call_srcu,
  init_srcu_struct,
  srcu_barrier,
  srcu_read_lock,
  srcu_read_unlock,
  synchronize_srcu,
} from './sync/srcu.js';
