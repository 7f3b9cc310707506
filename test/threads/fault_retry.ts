// Thread bodies for test/races/fault_retry.test.ts.

import { handle_user_fault, set_fault_cost } from '../../src/ops/index.js';
import { world_bind } from '../../src/workload/world.js';

/** One write fault at addr whose cost is an I/O wait of `us`, held or dropped-and-retried. */
export function faulter(a: {
  mm: number;
  addr: number;
  us: number;
  wait: 'hold' | 'retry';
}): number {
  world_bind();
  set_fault_cost({ kind: 'sleep', us: a.us, wait: a.wait });
  return handle_user_fault(a.mm, a.addr, true);
}
