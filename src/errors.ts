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
