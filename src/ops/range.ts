// Argument checks the system calls share: a page range inside the user address space.

import { EINVAL } from '../errors.js';
import { TASK_SIZE_PAGES } from '../mm/pgtable.js';

/** 0 if [start, start + pages) is a non-empty range of user pages, else -EINVAL. */
export function check_range(start: number, pages: number): number {
  if (!Number.isInteger(start) || !Number.isInteger(pages)) return EINVAL;
  if (pages <= 0 || start < 0 || start > TASK_SIZE_PAGES - pages) return EINVAL;
  return 0;
}
