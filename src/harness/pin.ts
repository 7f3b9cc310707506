// CPU placement of worker threads (Linux). A worker pins its own thread: its thread id comes
// from /proc/thread-self (a link to "PID/task/TID"), and `taskset -pc CPU TID` sets the affinity
// of that one thread. Where that fails (no /proc, no taskset, a restricted cpuset) the caller
// gets a one-line reason and the run goes on unpinned.

import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';

/** The OS thread id of the calling thread, or 0 where /proc/thread-self is missing. */
export function threadId(): number {
  try {
    const link = readlinkSync('/proc/thread-self');
    const tid = Number(link.slice(link.lastIndexOf('/') + 1));
    return Number.isInteger(tid) && tid > 0 ? tid : 0;
  } catch {
    return 0;
  }
}

export interface PinResult {
  readonly tid: number;
  /** the CPU pinned to, or -1 */
  readonly cpu: number;
  /** why pinning failed (one line), or null */
  readonly warning: string | null;
}

/** Pin the calling thread to `cpu`. Never throws. */
export function pinThisThread(cpu: number): PinResult {
  const tid = threadId();
  if (tid === 0) return { tid, cpu: -1, warning: 'no /proc/thread-self (pinning needs Linux)' };
  try {
    execFileSync('taskset', ['-pc', String(cpu), String(tid)], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 5000,
    });
    return { tid, cpu, warning: null };
  } catch (err) {
    const e = err as { code?: string; stderr?: Buffer; message?: string };
    const why =
      e.code === 'ENOENT'
        ? 'taskset not found (util-linux)'
        : (e.stderr?.toString().trim().split('\n')[0] ?? e.message ?? String(err));
    return { tid, cpu: -1, warning: `taskset -pc ${cpu} ${tid}: ${why}` };
  }
}

/** The CPU the calling thread last ran on (field 39 of /proc/thread-self/stat), or -1. */
export function lastCpu(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    // The command name (field 2) may hold spaces; fields after its closing paren are plain.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpu = Number(rest[39 - 3]);
    return Number.isInteger(cpu) ? cpu : -1;
  } catch {
    return -1;
  }
}
