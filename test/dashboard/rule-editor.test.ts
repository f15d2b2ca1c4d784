import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import RulesSection from '../../dashboard/src/components/alerts/RulesSection.svelte';
import { fieldError } from '../../dashboard/src/lib/errors';
import { emptyRuleForm, formFromRule, inputFromForm, parseLabels, type Rule } from '../../dashboard/src/lib/rule-form';
import { Router } from '../../dashboard/src/lib/router.svelte';
import { Session } from '../../dashboard/src/lib/session.svelte';
import { FakeClient } from './fake-client';
import Harness from './Harness.svelte';

const cpu: Rule = {
  id: 'r2',
  name: 'CPU high',
  kind: 'METRIC_THRESHOLD',
  severity: 'WARNING',
  enabled: true,
  builtin: false,
  forSeconds: 0,
  consecutive: 3,
  keepFiringForSeconds: 60,
  labels: { team: 'web' },
  summary: '{{agent.name}} CPU {{value}}%',
  description: '',
  scope: { environment: 'production', tags: ['eu', 'web'] },
  condition: { metric: 'cpu_percent', labels: { core: 'all' }, aggregate: 'max', windowSeconds: 120, op: '>=', threshold: 95 },
};
const offline: Rule = { ...cpu, id: 'r1', name: 'Agent offline', kind: 'AGENT_STATUS', builtin: true, consecutive: null, keepFiringForSeconds: 0, labels: {}, scope: {}, condition: { statuses: ['offline'] }, summary: '' };

describe('the rule form’s fields', () => {
  it('reads a saved rule back in the API’s spelling and sends it unchanged', () => {
    const form = formFromRule(cpu);
    expect(form).toMatchObject({ op: 'GE', aggregate: 'MAX', tags: 'eu, web', metricLabels: 'core=all', labels: 'team=web', waitBy: 'evaluations', consecutive: 3 });
    expect(inputFromForm(form)).toEqual({
      name: 'CPU high',
      kind: 'METRIC_THRESHOLD',
      severity: 'WARNING',
      enabled: true,
      scope: { environment: 'production', type: null, tags: ['eu', 'web'], search: null, ids: null },
      condition: { metric: 'cpu_percent', labels: { core: 'all' }, aggregate: 'MAX', op: 'GE', threshold: 95, windowSeconds: 120 },
      forSeconds: 0,
      consecutive: 3,
      keepFiringForSeconds: 60,
      labels: { team: 'web' },
      summary: '{{agent.name}} CPU {{value}}%',
      description: null,
    });
    expect(inputFromForm(formFromRule(offline)).condition).toEqual({ statuses: ['OFFLINE'] });
    // Agents picked by id through the API survive an edit in the form.
    expect(inputFromForm(formFromRule({ ...offline, scope: { ids: ['a1', 'a2'] } })).scope).toMatchObject({ ids: ['a1', 'a2'] });
  });

  it('sends only the settings of the chosen kind, and consecutive only for metric thresholds', () => {
    const form = { ...emptyRuleForm(), name: 'flaps', kind: 'FLAPPING' as const, changes: 5, windowSeconds: 900, waitBy: 'evaluations' as const };
    expect(inputFromForm(form)).toMatchObject({ condition: { changes: 5, windowSeconds: 900 }, consecutive: null, forSeconds: 0 });
  });

  it('parses labels and gathers a field’s messages with those beneath it', () => {
    expect(parseLabels(' team = web, ,tier=1, bare')).toEqual({ team: 'web', tier: '1', bare: '' });
    expect(fieldError({ 'labels.bare': 'is required', labels: 'too many', name: 'x' }, 'labels')).toBe('bare: is required; too many');
    expect(fieldError({ name: 'x' }, 'summary')).toBeUndefined();
  });
});

function setup(role: 'ADMIN' | 'VIEWER') {
  const client = new FakeClient()
    .answer('AlertRules', () => ({ alertRules: [offline, cpu] }))
    .answer('PreviewRule', (v) => {
      const input = v.input as { summary: string | null };
      if (input.summary?.includes('{{nope}}')) return undefined;
      return { previewAlertRule: { matchingAgents: 12, wouldFire: 2, firing: ['web-1', 'web-2'], warnings: [] } };
    })
    .answer('UpdateRule', () => ({ updateAlertRule: { rule: { id: 'r2' } } }))
    .answer('DeleteRule', () => ({ deleteAlertRule: 'r2' }));
  const session = new Session();
  session.role = role;
  render(Harness, { client: client.asClient(), router: new Router(), session, page: RulesSection });
  return client;
}

describe('the rules page', () => {
  it('edits a rule in a form with the live preview, and saves it by id', async () => {
    const client = setup('ADMIN');
    await fireEvent.click(await screen.findByRole('button', { name: 'Edit CPU high' }));
    const form = screen.getByRole('form', { name: 'Edit CPU high' });
    expect((within(form).getByLabelText('Metric') as HTMLInputElement).value).toBe('cpu_percent');
    await within(form).findByText(/Matches 12 agents now; would fire for 2 \(web-1, web-2\)/, undefined, { timeout: 2000 });
    await fireEvent.input(within(form).getByLabelText('Threshold'), { target: { value: '97' } });
    await fireEvent.click(within(form).getByRole('button', { name: 'Save rule' }));
    await screen.findByText('Saved “CPU high”.');
    const [update] = client.callsTo('UpdateRule');
    expect(update.variables).toMatchObject({ id: 'r2', input: { name: 'CPU high', condition: { threshold: 97 }, consecutive: 3 } });
    // The built-in rule can be edited, not deleted.
    expect(screen.queryByRole('button', { name: 'Delete Agent offline' })).toBeNull();
    expect(screen.getByRole('button', { name: 'Delete CPU high' })).toBeTruthy();
  });

  it('shows the server’s field errors next to the fields they name', async () => {
    const client = setup('ADMIN');
    client.fail('UpdateRule', 'Invalid rule', { code: 'BAD_USER_INPUT', fields: { 'condition.threshold': 'is required: a finite number', keepFiringForSeconds: 'must not be negative' } });
    await fireEvent.click(await screen.findByRole('button', { name: 'Edit CPU high' }));
    const form = screen.getByRole('form', { name: 'Edit CPU high' });
    await fireEvent.click(within(form).getByRole('button', { name: 'Save rule' }));
    await within(form).findByText('is required: a finite number');
    const threshold = within(form).getByLabelText('Threshold');
    expect(threshold.getAttribute('aria-invalid')).toBe('true');
    expect(threshold.closest('label')!.nextElementSibling!.textContent).toBe('is required: a finite number');
    expect(within(form).getByLabelText('Keep firing for (s)').closest('label')!.nextElementSibling!.textContent).toBe('must not be negative');
    expect(within(form).getByRole('alert').textContent).toBe('The rule was not saved: see the fields marked.');
  });

  it('shows a viewer the rules with no editing controls', async () => {
    setup('VIEWER');
    await screen.findByText('CPU high');
    expect(screen.queryAllByRole('button')).toEqual([]);
    expect(screen.queryAllByRole('checkbox')).toEqual([]);
    await waitFor(() => expect(screen.queryByRole('form')).toBeNull());
  });
});
