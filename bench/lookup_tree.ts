// The index the lookup benchmarks share (bench:primitives' `index lookup` rows and
// bench:lookup-cache): entry i is [TREE_BASE + 4i, TREE_BASE + 4i + 2) → i + 1, with no VMA
// behind it, and random keys drawn with one xorshift, so both suites look up the same entries.

/** The first entry's start. */
export const TREE_BASE = 16;

/** The entries of a tree of `size`: starts, ends and slots, in address order. */
export function treeEntries(size: number): {
  starts: Int32Array;
  ends: Int32Array;
  slots: Int32Array;
} {
  const starts = Int32Array.from({ length: size }, (_, i) => TREE_BASE + 4 * i);
  return {
    starts,
    ends: starts.map((s) => s + 2),
    slots: Int32Array.from({ length: size }, (_, i) => i + 1),
  };
}

/** `count` entry indices in lo .. lo + window - 1, from a fixed xorshift seed. */
export function drawKeys(count: number, lo: number, window: number): Int32Array {
  const keys = new Int32Array(count);
  let x = 0x2545f491;
  for (let j = 0; j < count; j++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    keys[j] = lo + ((x >>> 0) % window);
  }
  return keys;
}

/** The address a lookup of entry k asks for (inside the entry), and the slot it must return. */
export function keyAddress(k: number): number {
  return TREE_BASE + 4 * k + 1;
}
