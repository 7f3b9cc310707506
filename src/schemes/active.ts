// The scheme this thread runs: chosen once per buffer (MM_GLOBALS.scheme) and bound when the
// thread attaches. Operations call scheme() and never name a scheme.

import { LayoutError } from '../errors.js';
import type { Scheme } from './scheme.js';

let active: Scheme | null = null;

export function set_active_scheme(s: Scheme): void {
  active = s;
}

export function scheme(): Scheme {
  if (active === null) throw new LayoutError('no scheme bound in this thread (call world_attach)');
  return active;
}
