import { describe, expect, it } from 'vitest';
import { KeySequence, moveRow } from '../../dashboard/src/lib/keys';

describe('keyboard shortcuts', () => {
  it('"g f" completes within the window; a lone g or a slow f does not', () => {
    const keys = new KeySequence(['g f', '/', 'j', 'k']);
    expect(keys.feed('g', 0)).toBeNull();
    expect(keys.feed('f', 500)).toBe('g f');
    expect(keys.feed('g', 1000)).toBeNull();
    expect(keys.feed('f', 5000)).toBeNull();
    expect(keys.feed('/', 6000)).toBe('/');
    expect(keys.feed('x', 6100)).toBeNull();
  });

  it('j and k move through the rows and stop at the ends', () => {
    expect(moveRow(-1, 'j', 3)).toBe(0);
    expect(moveRow(0, 'j', 3)).toBe(1);
    expect(moveRow(2, 'j', 3)).toBe(2);
    expect(moveRow(0, 'k', 3)).toBe(0);
    expect(moveRow(-1, 'k', 3)).toBe(2);
    expect(moveRow(1, 'j', 0)).toBe(-1);
  });
});
