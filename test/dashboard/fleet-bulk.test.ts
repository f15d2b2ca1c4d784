import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fireEvent, screen, waitFor, within } from '@testing-library/svelte';
import { agent } from './fixtures';
import { findRow, setup } from './fleet-setup';

const pick = (id: string) => within(document.querySelector<HTMLElement>(`tr[data-agent-id="${id}"]`)!).getByTestId('pick');

function admin(agents: Parameters<typeof setup>[0]) {
  const ctx = setup(agents);
  ctx.session.role = 'ADMIN';
  ctx.client
    .answer('SelectionPreview', (v) => {
      const ids = (v.filter as { ids?: string[] }).ids;
      const chosen = ids ? agents.filter((a) => ids.includes(a.id)) : agents;
      return { agentSelectionPreview: { count: chosen.length, agents: chosen.map((a) => ({ id: a.id, name: a.name })) } };
    })
    .answer('BulkAddTags', (v) => ({ bulkAddAgentTags: { selected: (v.filter as { ids?: string[] }).ids?.length ?? agents.length, changed: 1 } }));
  return ctx;
}

describe('fleet bulk actions', () => {
  beforeEach(() => history.replaceState(null, '', '/'));
  afterEach(() => history.replaceState(null, '', '/'));

  it('viewers get no checkboxes and no bulk bar', async () => {
    const a = agent({ name: 'web-1' });
    setup([a]);
    await findRow(a.id);
    expect(screen.queryByTestId('pick')).toBeNull();
    expect(screen.queryByTestId('pick-all')).toBeNull();
    expect(screen.queryByTestId('bulk-bar')).toBeNull();
  });

  it('ticked rows: the preview names them, confirming sends their ids and says what changed', async () => {
    const a = agent({ name: 'web-1' });
    const b = agent({ name: 'web-2' });
    const c = agent({ name: 'web-3' });
    const { client } = admin([a, b, c]);
    await findRow(a.id);
    await fireEvent.click(pick(a.id));
    await fireEvent.click(pick(b.id));
    expect(screen.getByTestId('bulk-count').textContent).toBe('2');
    await fireEvent.input(screen.getByTestId('bulk-tags'), { target: { value: 'maint, canary' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Add tags…' }));
    await waitFor(() => expect(screen.getByTestId('bulk-preview-count').textContent).toMatch(/Adds to\s+2 agents/));
    expect(within(screen.getByTestId('bulk-preview')).getAllByRole('listitem').map((li) => li.textContent)).toEqual(['web-1', 'web-2']);
    expect(client.callsTo('BulkAddTags')).toHaveLength(0);

    await fireEvent.click(screen.getByTestId('bulk-confirm'));
    await waitFor(() => expect(screen.getByTestId('bulk-result').textContent).toBe('Changed 1 of 2.'));
    expect(client.callsTo('BulkAddTags').map((c) => c.variables)).toEqual([{ filter: { ids: [a.id, b.id] }, tags: ['maint', 'canary'] }]);
    await fireEvent.click(screen.getByRole('button', { name: 'Close' }));
    await waitFor(() => expect(screen.queryByTestId('bulk-bar')).toBeNull());
  });

  it('"all that match this filter" sends the fleet filter, not ids; select-all ticks every loaded row', async () => {
    const a = agent({ name: 'web-1', status: 'OFFLINE' });
    const b = agent({ name: 'web-2', status: 'OFFLINE' });
    history.replaceState(null, '', '/?status=offline');
    const { client } = admin([a, b]);
    await findRow(a.id);
    await fireEvent.click(screen.getByTestId('pick-all'));
    expect(screen.getByTestId('bulk-count').textContent).toBe('2');
    await fireEvent.click(screen.getByTestId('bulk-all'));
    await fireEvent.input(screen.getByTestId('bulk-tags'), { target: { value: 'retire' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Add tags…' }));
    await waitFor(() => expect(screen.getByTestId('bulk-confirm').hasAttribute('disabled')).toBe(false));
    await fireEvent.click(screen.getByTestId('bulk-confirm'));
    await waitFor(() => expect(client.callsTo('BulkAddTags')).toHaveLength(1));
    const sent = client.callsTo('BulkAddTags')[0].variables;
    expect(sent).toEqual({ filter: { status: ['OFFLINE'], inactive: false }, tags: ['retire'] });
    expect(client.callsTo('SelectionPreview')[0].variables).toEqual({ filter: sent.filter, first: 10 });
  });

  it('at phone width the cards carry the ticks too, with a select-all above them', async () => {
    const original = window.matchMedia;
    window.matchMedia = ((query: string) => ({ matches: query.includes('max-width'), media: query, addEventListener() {}, removeEventListener() {} })) as unknown as typeof window.matchMedia;
    try {
      const agents = [agent({ name: 'web-1' }), agent({ name: 'web-2' }), agent({ name: 'web-3' })];
      admin(agents);
      const card = (id: string) => waitFor(() => document.querySelector<HTMLElement>(`li.card[data-agent-id="${id}"]`) ?? Promise.reject(new Error('no card')));
      await fireEvent.click(within(await card(agents[0].id)).getByTestId('pick'));
      await fireEvent.click(within(await card(agents[2].id)).getByTestId('pick'));
      expect(screen.getByTestId('bulk-count').textContent).toBe('2');
      expect(document.querySelector('tr[data-agent-id]')).toBeNull();
      const all = screen.getByTestId('pick-all') as HTMLInputElement;
      expect(all.indeterminate).toBe(true);
      await fireEvent.click(all);
      expect(screen.getByTestId('bulk-count').textContent).toBe('3');
      await fireEvent.click(all);
      await waitFor(() => expect(screen.queryByTestId('bulk-bar')).toBeNull());
    } finally {
      window.matchMedia = original;
    }
  });

  it('shows the server’s refusal with the field to fix, and changes nothing', async () => {
    const a = agent({ name: 'web-1' });
    const { client } = admin([a]);
    client.fail('BulkRemoveTags', 'Invalid tags', { code: 'BAD_USER_INPUT', fields: { tags: 'a tag is at most 64 characters' } });
    await findRow(a.id);
    await fireEvent.click(pick(a.id));
    await fireEvent.input(screen.getByTestId('bulk-tags'), { target: { value: 'x'.repeat(70) } });
    await fireEvent.click(screen.getByRole('button', { name: 'Remove tags…' }));
    await waitFor(() => expect(screen.getByTestId('bulk-confirm').hasAttribute('disabled')).toBe(false));
    await fireEvent.click(screen.getByTestId('bulk-confirm'));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toBe('Invalid tags (tags: a tag is at most 64 characters)');
    expect(screen.queryByTestId('bulk-result')).toBeNull();
  });

  it('while the connection is down the actions are disabled, saying why', async () => {
    const a = agent({ name: 'web-1' });
    const { session } = admin([a]);
    session.connection.connected();
    await findRow(a.id);
    await fireEvent.click(pick(a.id));
    session.connection.closed(1006);
    await waitFor(() => expect(screen.getByTestId('bulk-disabled').textContent).toMatch(/Not connected/));
    const deregister = screen.getByRole('button', { name: 'Deregister…' });
    expect(deregister.hasAttribute('disabled')).toBe(true);
    expect(deregister.getAttribute('title')).toMatch(/Not connected/);
  });
});
