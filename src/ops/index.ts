// The operations a workload performs, each written once against the scheme interface.

export { PROT_EXEC, PROT_NONE, PROT_READ, PROT_WRITE } from '../mm/vma.js';
export { exit_mmap } from './exit.js';
export {
  access_remote_vm,
  FAULT_FLAG_REMOTE,
  FAULT_FLAG_WRITE,
  type FaultCost,
  handle_user_fault,
  set_fault_cost,
  VM_FAULT_OOM,
  VM_FAULT_RETRY,
  VM_FAULT_SIGBUS,
  VM_FAULT_SIGSEGV,
} from './fault.js';
export { do_madvise_dontneed } from './madvise.js';
export { type MapsLine, read_maps } from './maps.js';
export { do_mmap, mmap_region_many } from './mmap.js';
export { do_mprotect } from './mprotect.js';
export { do_munmap, inject_munmap_gather_failure } from './munmap.js';
export {
  alloc_frame_wait,
  OOM_REAP_RETRY_MS,
  oom_reap_once,
  oom_reaper_register,
  oom_reaper_run,
  oom_reaper_unregister,
  out_of_memory,
} from './oom.js';
