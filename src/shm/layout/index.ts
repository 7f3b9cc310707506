// Every struct of the shared buffer, in one place. Importing this module registers them all, so
// every thread computes the same layout fingerprint.

export * from './header.js';
export * from './struct.js';
export * from './task.js';
