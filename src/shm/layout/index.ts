// Every struct of the shared buffer, in one place. Importing this module registers them all, so
// every thread computes the same layout fingerprint. A struct that embeds another is declared
// after it (configureLayout places structs in declaration order).

export * from './ctl.js';
export * from './header.js';
export * from './litmus.js';
export * from './mm.js';
export * from './pgtable.js';
export * from './rcu.js';
export * from './run.js';
export * from './rwsem.js';
export * from './slab.js';
export * from './stress.js';
export * from './struct.js';
export * from './sync.js';
export * from './task.js';
export * from './vma_tree.js';
