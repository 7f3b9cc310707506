// The four locking designs, by name. The order is the order of reports.

import { UsageError } from '../errors.js';
import { mmap_lock } from './mmap_lock.js';
import type { Scheme } from './scheme.js';
import { srcu_spf } from './srcu_spf.js';
import { vma_refcnt } from './vma_refcnt.js';
import { vma_rwsem } from './vma_rwsem.js';

export const SCHEMES = ['mmap_lock', 'vma_rwsem', 'vma_refcnt', 'srcu_spf'] as const;
export type SchemeName = (typeof SCHEMES)[number];

const byName: Record<SchemeName, Scheme> = { mmap_lock, vma_rwsem, vma_refcnt, srcu_spf };

export function scheme_by_name(name: string): Scheme {
  if (!(SCHEMES as readonly string[]).includes(name)) {
    throw new UsageError(`unknown scheme '${name}'; allowed: ${SCHEMES.join(', ')}`);
  }
  return byName[name as SchemeName];
}

export function scheme_id(name: SchemeName): number {
  return SCHEMES.indexOf(name);
}

export function scheme_by_id(id: number): Scheme {
  const name = SCHEMES[id];
  if (name === undefined) throw new UsageError(`scheme id ${id}: allowed 0..${SCHEMES.length - 1}`);
  return byName[name];
}

export type { Scheme } from './scheme.js';
