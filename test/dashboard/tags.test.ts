import { describe, expect, it } from 'vitest';
import { parseTags, spacedTagMessage } from '../../dashboard/src/lib/tags';

describe('typed tags', () => {
  it('commas and new lines separate tags; blanks are dropped', () => {
    expect(parseTags(' maint, canary\nedge,, \n')).toEqual({ tags: ['maint', 'canary', 'edge'], spaced: undefined });
    expect(parseTags('')).toEqual({ tags: [], spaced: undefined });
  });

  it('a piece with a space is one mistyped tag, pointed out, and nothing is sent', () => {
    expect(parseTags('canary, needs review, a b')).toEqual({ tags: [], spaced: 'needs review' });
    expect(spacedTagMessage('needs review')).toBe('Tags cannot contain spaces (“needs review”): separate tags with commas.');
  });
});
