// Labels for named schedule points: `sched_point(SP_X)` where
// `const SP_X = sched_label('vma_start_read:after_inc')`. A label's id is a hash of its name,
// so every thread computes the same id without sharing a table; each thread keeps the names it
// has seen, for timelines and for scripts that name a label ("run T1 until it reaches X").

const names = new Map<number, string>();

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/** The id of a named schedule point (never 0). Registers the name in this thread. */
export function sched_label(name: string): number {
  const id = fnv1a(name) || 1;
  const had = names.get(id);
  if (had !== undefined && had !== name) {
    throw new Error(`schedule labels '${had}' and '${name}' hash alike; rename one`);
  }
  names.set(id, name);
  return id;
}

/** The name of a label id, or null if no module of this thread declared it. */
export function label_name(id: number): string | null {
  return names.get(id) ?? null;
}

/** Every label this thread knows, sorted. */
export function known_labels(): string[] {
  return [...names.values()].sort();
}
