import { afterEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen } from '@testing-library/svelte';
import FleetFilters from '../../dashboard/src/components/fleet/FleetFilters.svelte';
import { DEFAULT_QUERY } from '../../dashboard/src/lib/fleet-query';
import { Auth, takeHashToken } from '../../dashboard/src/lib/auth.svelte';
import { Router, matchRoute } from '../../dashboard/src/lib/router.svelte';

afterEach(() => {
  vi.useRealTimers();
  localStorage.clear();
  history.replaceState(null, '', '/');
});

describe('search box', () => {
  it('commits after a pause: the first search pushes a history entry, refinements replace it', async () => {
    vi.useFakeTimers();
    const onChange = vi.fn();
    render(FleetFilters, { query: DEFAULT_QUERY, facets: null, onChange });
    const box = screen.getByLabelText('Search agents');
    await fireEvent.input(box, { target: { value: 'db' } });
    await fireEvent.input(box, { target: { value: 'db-0' } });
    vi.advanceTimersByTime(300);
    expect(onChange).toHaveBeenCalledTimes(1);
    expect(onChange).toHaveBeenLastCalledWith({ search: 'db-0' }, { replace: false });
    await fireEvent.input(box, { target: { value: 'db-01' } });
    vi.advanceTimersByTime(300);
    expect(onChange).toHaveBeenLastCalledWith({ search: 'db-01' }, { replace: true });
  });

  it('shows a search that came from the URL', () => {
    render(FleetFilters, { query: { ...DEFAULT_QUERY, search: 'redis' }, facets: null, onChange: vi.fn() });
    expect((screen.getByLabelText('Search agents') as HTMLInputElement).value).toBe('redis');
  });

  it('a filter from a shared link stays selectable even before the facets list it', () => {
    render(FleetFilters, { query: { ...DEFAULT_QUERY, type: 'gateway' }, facets: null, onChange: vi.fn() });
    expect((screen.getByLabelText('Type') as HTMLSelectElement).value).toBe('gateway');
  });
});

describe('router', () => {
  it('maps paths to pages', () => {
    expect(matchRoute('/')).toEqual({ name: 'fleet' });
    expect(matchRoute('/agents/abc%20d')).toEqual({ name: 'agent', id: 'abc d' });
    expect(matchRoute('/keys')).toEqual({ name: 'keys' });
    expect(matchRoute('/nope/x')).toEqual({ name: 'not-found' });
  });

  it('navigating pushes history, so Back returns to the previous view', async () => {
    const router = new Router();
    router.navigate('/?status=offline');
    expect(router.search).toBe('?status=offline');
    const popped = new Promise((r) => window.addEventListener('popstate', r, { once: true }));
    history.back();
    await popped;
    expect(router.search).toBe('');
    router.destroy();
  });
});

describe('sign-in link', () => {
  it('#token= signs in, is stored, and leaves the address bar', () => {
    history.replaceState(null, '', '/dashboard/?status=online#token=secret-1');
    const auth = new Auth();
    expect(auth.token).toBe('secret-1');
    expect(localStorage.getItem('agent-monitor.token')).toBe('secret-1');
    expect(location.hash).toBe('');
    expect(location.search).toBe('?status=online');
  });

  it('other fragment parts survive', () => {
    history.replaceState(null, '', '/#token=t&x=1');
    expect(takeHashToken()).toBe('t');
    expect(location.hash).toBe('#x=1');
  });

  it('a stored token signs in on the next visit; sign-out forgets it', () => {
    localStorage.setItem('agent-monitor.token', 'kept');
    const auth = new Auth();
    expect(auth.token).toBe('kept');
    auth.signOut();
    expect(auth.token).toBeNull();
    expect(localStorage.getItem('agent-monitor.token')).toBeNull();
  });
});
