// Targeted chaos: withPoints() files each key where the hook looks for it — a named point of
// src/sched/points.ts, every other label (LABELS), or one label by its declared name.

import { describe, expect, it } from 'vitest';
import { chaosConfig, withPoints } from '../../src/harness/stress/chaos.js';

describe('withPoints', () => {
  it('files named points, LABELS and labels by name apart, keeping the level elsewhere', () => {
    const base = chaosConfig('light');
    const c = withPoints(base, {
      AFTER_REF_INC: 0.5,
      LABELS: 0.3,
      'srcu_read_lock:idx_loaded': 1,
    });
    expect(c.points.AFTER_REF_INC).toBe(0.5);
    expect(c.points.BEFORE_REF_INC).toBe(base.points.BEFORE_REF_INC);
    expect(c.labels).toBe(0.3);
    expect(c.labelPoints).toEqual({ 'srcu_read_lock:idx_loaded': 1 });
    expect(Object.keys(c.points)).not.toContain('srcu_read_lock:idx_loaded');
    // a second layer adds to the first; a config with no label by name has none
    const d = withPoints(c, { 'vma_start_read:foreign': 0.2 });
    expect(d.labelPoints).toEqual({
      'srcu_read_lock:idx_loaded': 1,
      'vma_start_read:foreign': 0.2,
    });
    expect(withPoints(base, { LABELS: 0.1 }).labelPoints).toBeUndefined();
  });
});
