// Named errors. Expected outcomes are return values (trylock → boolean, killable → 0 or -EINTR);
// these are for misuse and for bugs.

export class FaultlineError extends Error {
  override name = 'FaultlineError';
}

/** The shared buffer does not have the layout this code expects, or an offset is out of range. */
export class LayoutError extends FaultlineError {
  override name = 'LayoutError';
}

/** A slab or the arena ran out of objects. The message names the slab and the knob to raise. */
export class SlabExhausted extends FaultlineError {
  override name = 'SlabExhausted';
}

/** A lock was used against its contract (unlock of an unheld lock, bad nesting, ...). */
export class LockStateError extends FaultlineError {
  override name = 'LockStateError';
}

/** A kernel invariant (KERNEL.md §7) did not hold. */
export class InvariantViolation extends FaultlineError {
  override name = 'InvariantViolation';
}

/** The harness asked every task to stop (watchdog fired or another worker failed). */
export class HarnessAbort extends FaultlineError {
  override name = 'HarnessAbort';
}

/** Bad user input: the CLI prints the message on one line and exits 2. */
export class UsageError extends FaultlineError {
  override name = 'UsageError';
}

/** errno values the kernel returns, negated as the kernel does. */
export const EINTR = -4;
export const EAGAIN = -11;
export const ENOMEM = -12;
export const EFAULT = -14;
export const EEXIST = -17;
export const EINVAL = -22;

// ---- echoing bad values ----------------------------------------------------------------------
// A UsageError names the value it refuses, but a value can be anything a user typed or a file
// held: megabytes long, a newline in it, JSON nested a million deep. These describe it in one
// short line whatever it is: no recursion deeper than a few levels, nothing longer than `max`.

/** The most characters of a value a message echoes. */
export const ECHO_MAX = 80;

function clip(s: string, max: number): string {
  // Code points, so a cut never splits a surrogate pair; U+2028/9 end lines for some readers.
  const cps = Array.from(s.replace(/[\u2028\u2029\u0085]/g, ' '));
  return cps.length <= max ? cps.join('') : `${cps.slice(0, max - 1).join('')}…`;
}

/** Text (an error's message, say) on one line of at most `max` characters. */
export function clipLine(s: string, max = ECHO_MAX): string {
  return clip(s.length > 4 * max ? s.slice(0, 4 * max) : s, max).replace(/\s+/g, ' ');
}

/** A command-line word as typed when it is short and plain, else quoted, escaped and cut. */
export function shownArg(s: string, max = ECHO_MAX): string {
  if (s.length <= max && /^[\x21-\x7e]+$/.test(s)) return s;
  return quote(s, max);
}

/** A string in JSON quotes, escaped, cut inside the quotes to fit `max` characters. */
function quote(s: string, max: number): string {
  let cps = Array.from(s.length > max ? s.slice(0, max) : s);
  const cut = cps.length < s.length;
  let q = JSON.stringify(cps.join('') + (cut ? '…' : ''));
  while (q.length > max && cps.length > 0) {
    cps = cps.slice(0, -1);
    q = JSON.stringify(`${cps.join('')}…`);
  }
  return q.replace(/[\u2028\u2029\u0085]/g, ' ');
}

/** Any value as JSON-like text, at most `max` characters and a few levels deep. */
export function shownValue(v: unknown, max = ECHO_MAX): string {
  return clip(sketch(v, 3, max), max);
}

function sketch(v: unknown, depth: number, max: number): string {
  if (typeof v === 'string') return quote(v, max);
  if (typeof v !== 'object' || v === null) return String(v);
  const isArray = Array.isArray(v);
  const [open, close] = isArray ? ['[', ']'] : ['{', '}'];
  const keys = isArray ? [] : Object.keys(v);
  const size = isArray ? v.length : keys.length;
  if (size === 0) return `${open}${close}`;
  if (depth === 0) return `${open}…${close}`;
  const parts: string[] = [];
  let len = 0;
  for (let i = 0; i < size && len < max; i++) {
    const item = isArray
      ? sketch(v[i], depth - 1, max)
      : `${JSON.stringify(clip(keys[i]!, max))}:${sketch((v as Record<string, unknown>)[keys[i]!], depth - 1, max)}`;
    parts.push(item);
    len += item.length + 1;
  }
  if (parts.length < size) parts.push('…');
  return `${open}${parts.join(',')}${close}`;
}
