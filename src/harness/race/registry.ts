// The race scripts faultline ships, in the order of value. Each is one file under
// scripts/ whose default export is a RaceScript; `rel` is its compiled module for the task
// threads (they load the same code the main thread runs).

import type { RaceScript } from './scenario.js';
import detachOrder from './scripts/detach_order.js';
import foreignMmWakeup from './scripts/foreign_mm_wakeup.js';
import preemptedReader from './scripts/preempted_reader.js';
import rcuwaitLostWakeup from './scripts/rcuwait_lost_wakeup.js';
import refcountLimit from './scripts/refcount_limit.js';
import seqWrap from './scripts/seq_wrap.js';
import seqWrapRwsem from './scripts/seq_wrap_rwsem.js';
import slotReuse from './scripts/slot_reuse.js';
import spfMunmap from './scripts/spf_munmap.js';
import srcuLateReader from './scripts/srcu_late_reader.js';
import v6Detach from './scripts/v6_detach.js';

export interface ScriptEntry {
  readonly script: RaceScript;
  /** module path relative to the package root, without extension ('src/harness/race/scripts/x') */
  readonly rel: string;
}

const dir = 'src/harness/race/scripts';

export const RACE_SCRIPTS: readonly ScriptEntry[] = [
  { script: v6Detach, rel: `${dir}/v6_detach` },
  { script: rcuwaitLostWakeup, rel: `${dir}/rcuwait_lost_wakeup` },
  { script: srcuLateReader, rel: `${dir}/srcu_late_reader` },
  { script: spfMunmap, rel: `${dir}/spf_munmap` },
  { script: preemptedReader, rel: `${dir}/preempted_reader` },
  { script: detachOrder, rel: `${dir}/detach_order` },
  { script: slotReuse, rel: `${dir}/slot_reuse` },
  { script: foreignMmWakeup, rel: `${dir}/foreign_mm_wakeup` },
  { script: seqWrap, rel: `${dir}/seq_wrap` },
  { script: seqWrapRwsem, rel: `${dir}/seq_wrap_rwsem` },
  { script: refcountLimit, rel: `${dir}/refcount_limit` },
];

export function script_by_name(name: string): ScriptEntry | null {
  return RACE_SCRIPTS.find((e) => e.script.name === name) ?? null;
}
