// The pieces RCU (src/sync/rcu.ts) and SRCU (src/sync/srcu.ts) share: the grace-period
// sequence arithmetic (the kernel's rcu_seq_* in kernel/rcu/rcu.h, with one state bit) and the
// thread-local callback list (the kernel's rcu_segcblist, reduced to one FIFO of cookies).
//
// Memory ordering: nothing here touches shared memory. The callers order the gp_seq loads they
// pass in (see the "Memory ordering" notes of rcu.ts and srcu.ts).

import { words } from '../sched/atomics.js';
import { count } from '../sched/task.js';

/** rcu_seq_snap(): the gp_seq value at which a grace period starting after now has ended. */
export function rcu_seq_snap(seq: number): number {
  return ((seq + 3) & ~1) | 0;
}

/** rcu_seq_done(): gp_seq has reached cookie (signed wrap-around compare). */
export function rcu_seq_done(seq: number, cookie: number): boolean {
  return ((seq - cookie) | 0) >= 0;
}

// ---- deferred callbacks --------------------------------------------------------------------

/**
 * A thread-local FIFO of callbacks with their cookies (cookies never decrease along it).
 * Callbacks queued against another arena are dropped when this thread moves to a new one.
 */
export class RcuCbList {
  private fns: Array<(() => void) | undefined> = [];
  private cookies: number[] = [];
  private head = 0;
  private arena: Int32Array | null = null;

  /** Callbacks waiting. No shared-memory access. */
  pending(): number {
    const n = this.fns.length - this.head;
    if (n !== 0 && this.arena !== words()) {
      this.reset();
      return 0;
    }
    return n;
  }

  enqueue(fn: () => void, cookie: number): void {
    if (this.arena !== words()) this.reset();
    this.fns.push(fn);
    this.cookies.push(cookie);
  }

  firstCookie(): number {
    return this.cookies[this.head]!;
  }

  lastCookie(): number {
    return this.cookies[this.cookies.length - 1]!;
  }

  /** Invoke, oldest first, every callback whose cookie seq has reached; count each. */
  invokeReady(seq: number, counter: number): number {
    let n = 0;
    while (this.head < this.fns.length && rcu_seq_done(seq, this.cookies[this.head]!)) {
      const fn = this.fns[this.head]!;
      this.fns[this.head] = undefined;
      this.head++;
      count(counter);
      n++;
      fn(); // may queue more callbacks or process this list again: all state is in fields
    }
    if (this.head === this.fns.length) this.reset();
    else if (this.head > 1024 && this.head * 2 > this.fns.length) {
      this.fns = this.fns.slice(this.head);
      this.cookies = this.cookies.slice(this.head);
      this.head = 0;
    }
    return n;
  }

  reset(): void {
    this.fns = [];
    this.cookies = [];
    this.head = 0;
    this.arena = words();
  }
}
