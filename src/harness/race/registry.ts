// The race scripts faultline ships, in the order of value. Each is one file under
// scripts/ whose default export is a RaceScript; `rel` is its compiled module for the task
// threads (they load the same code the main thread runs).

import type { RaceScript } from './scenario.js';
import rcuwaitLostWakeup from './scripts/rcuwait_lost_wakeup.js';
import spfMunmap from './scripts/spf_munmap.js';
import srcuLateReader from './scripts/srcu_late_reader.js';

export interface ScriptEntry {
  readonly script: RaceScript;
  /** module path relative to the package root, without extension ('src/harness/race/scripts/x') */
  readonly rel: string;
}

const dir = 'src/harness/race/scripts';

export const RACE_SCRIPTS: readonly ScriptEntry[] = [
  { script: rcuwaitLostWakeup, rel: `${dir}/rcuwait_lost_wakeup` },
  { script: srcuLateReader, rel: `${dir}/srcu_late_reader` },
  { script: spfMunmap, rel: `${dir}/spf_munmap` },
];

export function script_by_name(name: string): ScriptEntry | null {
  return RACE_SCRIPTS.find((e) => e.script.name === name) ?? null;
}
