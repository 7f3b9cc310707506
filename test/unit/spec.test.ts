import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { PRESET_NAMES, PRESETS } from '../../src/workload/presets.js';
import {
  DEFAULT_WORKLOAD,
  faultWaits,
  parseWorkload,
  runFaultCost,
  writerCount,
} from '../../src/workload/spec.js';

const SCHEMES = ['mmap_lock', 'vma_rwsem', 'vma_refcnt', 'srcu_spf'];
const parse = (v: unknown) => parseWorkload(v, 'w.json', SCHEMES);

/** The one-line message parseWorkload throws for v. */
function message(v: unknown): string {
  try {
    parse(v);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    const m = (e as Error).message;
    expect(m).not.toMatch(/\n/);
    return m;
  }
  throw new Error('expected a UsageError');
}

describe('workload specs', () => {
  it('every preset is a valid workload and parses to itself', () => {
    expect(PRESET_NAMES).toEqual(
      expect.arrayContaining([
        'pft',
        'pft-munmap',
        'shared-mprotect',
        'io-fault',
        'maps-reader',
        'srcu-munmap',
      ]),
    );
    for (const name of PRESET_NAMES) {
      const p = PRESETS[name];
      expect(parse(structuredClone(p))).toEqual(p);
      expect(p.name).toBe(name);
    }
    expect(writerCount(PRESETS.pft)).toBe(0);
    expect(writerCount(PRESETS['maps-reader'])).toBe(2);
  });

  it('runs a sleeping fault both ways only when asked', () => {
    const sleep = { faultCost: { kind: 'sleep', us: 5 } };
    expect(faultWaits(parse(sleep))).toEqual(['retry']);
    expect(runFaultCost(parse(sleep), null)).toEqual({ kind: 'sleep', us: 5, wait: 'retry' });
    const both = parse({ ...sleep, faultWait: ['retry', 'hold'] });
    expect(faultWaits(both)).toEqual(['retry', 'hold']);
    expect(runFaultCost(both, 'hold')).toEqual({ kind: 'sleep', us: 5, wait: 'hold' });
    expect(faultWaits(parse({}))).toEqual(['hold']);
  });

  it('fills every missing field with its default', () => {
    expect(parse({})).toEqual(DEFAULT_WORKLOAD);
    const w = parse({ name: 'mine', writers: [{ ops: { maps: 1 } }], vmas: { pages: 8 } });
    expect(w.vmas).toEqual({ layout: 'private', count: 1, pages: 8 });
    expect(w.writers).toEqual([{ count: 1, ops: { maps: 1 }, thinkUs: 0, pages: 16 }]);
  });

  it('names an unknown field and the allowed ones', () => {
    expect(message({ nme: 'x' })).toMatch(
      /^w\.json: unknown field "nme"; allowed: name, description, vmas/,
    );
    expect(message({ vmas: { size: 1 } })).toBe(
      'w.json.vmas: unknown field "size"; allowed: layout, count, pages',
    );
    expect(message({ writers: [{ ops: { munmap: 1 } }] })).toMatch(
      /^w\.json\.writers\[0\]\.ops: unknown field "munmap"; allowed: mmapMunmap, mprotect, maps, madvise$/,
    );
    expect(message({ faultCost: { kind: 'zero', ns: 5 } })).toBe(
      'w.json.faultCost: unknown field "ns"; allowed: kind',
    );
  });

  it('names a bad value and what is allowed', () => {
    expect(message({ vmas: { count: 0 } })).toBe(
      'w.json.vmas.count: 0 is not allowed; allowed: an integer 1..1024',
    );
    expect(message({ access: 'zigzag' })).toBe(
      'w.json.access: "zigzag" is not allowed; allowed: sequential | random',
    );
    expect(message({ writeFraction: 1.5 })).toBe(
      'w.json.writeFraction: 1.5 is not allowed; allowed: a number 0..1',
    );
    expect(message({ faultCost: { kind: 'sleep', us: -1 } })).toMatch(
      /^w\.json\.faultCost\.us: -1 is not allowed/,
    );
    expect(message({ faultCost: { kind: 'nap' } })).toMatch(
      /faultCost\.kind: "nap" is not allowed; allowed: zero \| spin \| sleep/,
    );
    expect(message({ writers: [{ ops: { maps: 0 } }] })).toMatch(
      /writers\[0\]\.ops: .* at least one above 0/,
    );
    expect(message({ writers: 'many' })).toMatch(
      /^w\.json\.writers: "many" is not allowed; allowed: a list of at most 8/,
    );
    expect(message({ srcuFree: ['call_srcu', 'call_srcu'] })).toMatch(/srcuFree/);
    expect(message({ faultWait: ['retry'] })).toMatch(
      /^w\.json\.faultWait: \["retry"\] is not allowed; allowed: \['hold'\] only: faultCost\.kind zero/,
    );
    expect(message({ faultCost: { kind: 'sleep', us: 5 }, faultWait: ['later'] })).toMatch(
      /faultWait\[0\]: "later" is not allowed; allowed: retry \| hold/,
    );
    expect(message({ faultCost: { kind: 'sleep', us: 5, wait: 'hold' } })).toMatch(
      /faultCost: unknown field "wait"/,
    );
    expect(message({ schemes: ['rcu_magic'] })).toMatch(
      /schemes\[0\]: "rcu_magic" is not allowed; allowed: mmap_lock \| vma_rwsem \| vma_refcnt \| srcu_spf/,
    );
    expect(message({ name: 'Has Space' })).toMatch(/^w\.json\.name: /);
    expect(message([])).toMatch(/^w\.json: \[\] is not allowed; allowed: an object with fields/);
  });
});
