import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fireEvent, screen, waitFor, within } from '@testing-library/svelte';
import { compareGroups, decodeOpen, defaultOpen, encodeOpen, groupLabel, visibleGroups, type FleetGroup } from '../../dashboard/src/lib/fleet-groups';
import { DEFAULT_QUERY, matchesQuery, parseFleetQuery, serializeFleetQuery, toAgentFilter } from '../../dashboard/src/lib/fleet-query';
import { agent } from './fixtures';
import { findRow, row, rowOf, setup } from './fleet-setup';

const counts = (offline: number, degraded: number, online: number) => ({ offline, degraded, online, total: offline + degraded + online });
const group = (key: string | null, c = counts(0, 0, 1)): FleetGroup => ({ key, counts: c });

describe('grouping in the URL', () => {
  it('each grouping and the open groups survive a round trip; no grouping writes nothing', () => {
    for (const qs of ['?group=environment', '?group=type', '?group=tag', '?group=meta%3Aregion', '?env=prod&group=tag&open=edge&open=%7Enone']) {
      expect(serializeFleetQuery(parseFleetQuery(qs))).toBe(qs);
    }
    expect(parseFleetQuery('?group=meta:region').group).toEqual({ metadataKey: 'region' });
    expect(parseFleetQuery('?group=tag&open=edge&open=~none').open).toEqual(['edge', null]);
    expect(serializeFleetQuery({ ...DEFAULT_QUERY, open: ['x'] })).toBe('');
  });

  it('keys that look like the markers are escaped, and closing every group is kept apart from the default', () => {
    const q = { ...DEFAULT_QUERY, group: { metadataKey: 'zone' }, open: ['~none', '~', '', 'a,b'] };
    expect(parseFleetQuery(serializeFleetQuery(q)).open).toEqual(['~none', '~', '', 'a,b']);
    const closed = serializeFleetQuery({ ...q, open: [] });
    expect(closed).toBe('?group=meta%3Azone&open=%7E');
    expect(parseFleetQuery(closed).open).toEqual([]);
    expect(parseFleetQuery('?group=meta:zone').open).toBeNull();
    expect(decodeOpen(encodeOpen('~x'))).toEqual({ key: '~x' });
  });

  it('an unknown or empty grouping is none', () => {
    expect(parseFleetQuery('?group=colour').group).toBeNull();
    expect(parseFleetQuery('?group=meta:').group).toBeNull();
    expect(parseFleetQuery('?group=ENVIRONMENT').group).toEqual({ field: 'environment' });
  });
});

describe('groups: order, labels, membership', () => {
  it('orders worst first (offline, then degraded), then by natural key order, the null group last', () => {
    const list = [group('gw-10'), group(null), group('gw-2'), group('b', counts(0, 2, 0)), group('a', counts(1, 0, 5)), group('c', counts(0, 2, 9))];
    expect([...list].sort(compareGroups).map((g) => g.key)).toEqual(['a', 'b', 'c', 'gw-2', 'gw-10', null]);
  });

  it('labels null keys by what their agents lack', () => {
    expect(groupLabel({ field: 'tag' }, null)).toBe('untagged');
    expect(groupLabel({ field: 'environment' }, null)).toBe('no environment');
    expect(groupLabel({ metadataKey: 'region' }, null)).toBe('no region');
    expect(groupLabel({ metadataKey: 'region' }, '')).toBe('(empty)');
    expect(groupLabel({ field: 'type' }, 'database')).toBe('database');
  });

  it('a status pick hides groups without such agents; groups with problems open by default, at most three', () => {
    const list = [group('ok'), group('down', counts(2, 0, 0)), group('slow', counts(0, 1, 3))];
    expect(visibleGroups(list, ['OFFLINE']).map((g) => g.key)).toEqual(['down']);
    expect(defaultOpen(visibleGroups(list, []))).toEqual(['down', 'slow']);
    expect(defaultOpen(['a', 'b', 'c', 'd'].map((k) => group(k, counts(1, 0, 0))))).toHaveLength(3);
  });

  it('a group narrows the filter and the live matching alike, the null groups included', () => {
    const tagged = agent({ tags: ['edge'], metadata: { region: 'eu' } });
    const bare = agent({ tags: [], metadata: { region: null } });
    const untagged = { ...DEFAULT_QUERY, member: { by: { field: 'tag' as const }, key: null } };
    expect(toAgentFilter(untagged)).toEqual({ inactive: false, group: { by: { field: 'TAG' }, key: null } });
    expect([matchesQuery(tagged, untagged), matchesQuery(bare, untagged)]).toEqual([false, true]);
    const noRegion = { ...DEFAULT_QUERY, member: { by: { metadataKey: 'region' }, key: null } };
    expect(toAgentFilter(noRegion).group).toEqual({ by: { metadataKey: 'region' }, key: null });
    expect([matchesQuery(tagged, noRegion), matchesQuery(bare, noRegion)]).toEqual([false, true]);
    expect(matchesQuery(tagged, { ...noRegion, member: { by: { metadataKey: 'region' }, key: 'eu' } })).toBe(true);
  });
});

/** A group's header button, found by its label (role queries are slow in jsdom). */
function head(label: string): HTMLButtonElement {
  const found = [...document.querySelectorAll<HTMLButtonElement>('section[data-group] h2 > button')].find((b) => b.querySelector('.label')?.textContent === label);
  if (!found) throw new Error(`no group "${label}"`);
  return found;
}
const chip = (label: string, status: string) => within(head(label)).queryByText((_, el) => el?.getAttribute('data-group-count') === status)?.textContent ?? '0';

describe('the fleet page grouped', () => {
  beforeEach(() => history.replaceState(null, '', '/'));
  afterEach(() => history.replaceState(null, '', '/'));

  it('shows one section per environment with its counts, the troubled one open; a header opens and closes its list', async () => {
    const web = agent({ name: 'web-1', environment: 'production' });
    const api = agent({ name: 'api-1', environment: 'production' });
    const db = agent({ name: 'db-1', environment: 'staging', status: 'OFFLINE' });
    history.replaceState(null, '', '/?group=environment');
    const { client } = setup([web, api, db]);
    await findRow(db.id);
    expect([head('staging').getAttribute('aria-expanded'), head('production').getAttribute('aria-expanded')]).toEqual(['true', 'false']);
    const order = [...document.querySelectorAll<HTMLElement>('section[data-group]')].map((s) => s.dataset.group);
    expect(order).toEqual(['staging', 'production']);
    expect([chip('staging', 'offline'), chip('production', 'online'), chip('production', 'offline')]).toEqual(['1', '2', '0']);
    expect(rowOf(web.id)).toBeNull();
    expect(client.callsTo('FleetPage').some((c) => JSON.stringify(c.variables.filter).includes('"key":"staging"'))).toBe(true);

    const [pages, groupReads] = [client.callsTo('FleetPage').length, client.callsTo('FleetGroups').length];
    await fireEvent.click(head('production'));
    expect(new URLSearchParams(location.search).getAll('open')).toEqual(['staging', 'production']);
    await findRow(web.id);
    // Opening a group reads that group's list alone: not the counts, not the groups already open.
    expect(client.callsTo('FleetPage').slice(pages).map((c) => (c.variables.filter as { group?: { key: string } }).group?.key)).toEqual(['production']);
    expect(client.callsTo('FleetGroups')).toHaveLength(groupReads);
    expect(head('production').getAttribute('aria-expanded')).toBe('true');
    await fireEvent.click(head('staging'));
    expect(new URLSearchParams(location.search).getAll('open')).toEqual(['production']);
    await waitFor(() => expect(rowOf(db.id)).toBeNull());
    expect(head('staging').getAttribute('aria-expanded')).toBe('false');
  });

  it('counts follow a status change live, re-read at most about once a second', async () => {
    const a = agent({ name: 'web-1', environment: 'production' });
    const b = agent({ name: 'web-2', environment: 'production' });
    const agents = [a, b];
    history.replaceState(null, '', '/?group=environment&open=production');
    const { client } = setup(agents);
    await findRow(a.id);
    expect(chip('production', 'online')).toBe('2');
    const asked = client.callsTo('FleetGroups').length;
    agents[0] = { ...a, status: 'OFFLINE' };
    for (const cursor of ['50', '51']) {
      client.emit({ agentEvents: { cursor, type: 'STATUS_CHANGED', agentId: a.id, previousStatus: 'ONLINE', status: 'OFFLINE', agent: row(agents[0]) } }, 'FleetEvents');
    }
    await waitFor(() => expect(rowOf(a.id)!.dataset.status).toBe('OFFLINE'));
    await waitFor(() => expect(chip('production', 'offline')).toBe('1'), { timeout: 3000 });
    expect(chip('production', 'online')).toBe('1');
    expect(client.callsTo('FleetGroups').length - asked).toBe(1);
  });

  it('groups by tag with an "untagged" group whose list asks for the agents without tags', async () => {
    const edge = agent({ name: 'edge-1', tags: ['edge'] });
    const bare = agent({ name: 'bare-1', tags: [] });
    history.replaceState(null, '', '/?group=tag&open=~none');
    const { client } = setup([edge, bare]);
    await findRow(bare.id);
    expect(head('untagged').getAttribute('aria-expanded')).toBe('true');
    expect(rowOf(edge.id)).toBeNull();
    expect(client.callsTo('FleetPage').at(-1)!.variables.filter).toEqual({ inactive: false, group: { by: { field: 'TAG' }, key: null } });
  });

  it('the Group by control puts the grouping in the URL, a metadata key once it is typed', async () => {
    const a = agent({ name: 'web-1', metadata: { region: 'eu' } });
    setup([a]);
    await findRow(a.id);
    const select = screen.getByLabelText('Group by') as HTMLSelectElement;
    await fireEvent.change(select, { target: { value: 'type' } });
    expect(location.search).toBe('?group=type');
    await fireEvent.change(select, { target: { value: 'meta' } });
    expect(location.search).toBe('?group=type');
    // Another filter changing meanwhile leaves the half-made pick as it is.
    await fireEvent.change(screen.getByLabelText('Sort by'), { target: { value: 'NAME' } });
    expect(location.search).toBe('?sort=name&group=type');
    await fireEvent.input(screen.getByLabelText('Metadata key to group by'), { target: { value: 'region' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Group' }));
    expect(location.search).toBe('?sort=name&group=meta%3Aregion');
    await waitFor(() => expect(head('eu')).toBeTruthy());
    await fireEvent.change(select, { target: { value: '' } });
    expect(location.search).toBe('?sort=name');
  });
});
