import { describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import ConfigEditor from '../../dashboard/src/components/agent/ConfigEditor.svelte';
import TagEditor from '../../dashboard/src/components/agent/TagEditor.svelte';

const entries = [{ key: 'interval', value: 30, updatedAt: '2025-01-01T00:00:00Z', revision: 4 }];

describe('configuration editor', () => {
  it('refuses text that is not JSON and says why, before anything is sent', async () => {
    const onSet = vi.fn(async () => null);
    render(ConfigEditor, { entries, editable: true, now: Date.now(), onSet, onDelete: vi.fn(async () => null) });
    await fireEvent.input(screen.getByLabelText('Key'), { target: { value: 'retries' } });
    const value = screen.getByLabelText('Value (JSON)');
    await fireEvent.input(value, { target: { value: '{"a":' } });
    expect(value.getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByText(/Not valid JSON/)).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Add' }) as HTMLButtonElement).disabled).toBe(true);
    expect(onSet).not.toHaveBeenCalled();
  });

  it('sends parsed JSON, not the text', async () => {
    const onSet = vi.fn(async () => null);
    render(ConfigEditor, { entries, editable: true, now: Date.now(), onSet, onDelete: vi.fn(async () => null) });
    await fireEvent.input(screen.getByLabelText('Key'), { target: { value: 'limits' } });
    await fireEvent.input(screen.getByLabelText('Value (JSON)'), { target: { value: '{"cpu": 2, "on": true}' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Add' }));
    // A new key: the server refuses it if someone else created it meanwhile.
    expect(onSet).toHaveBeenCalledWith('limits', { cpu: 2, on: true }, 0);
  });

  it('saves an edit based on the revision it began from, and deletes the revision shown', async () => {
    const onSet = vi.fn(async () => null);
    const onDelete = vi.fn(async () => null);
    render(ConfigEditor, { entries, editable: true, now: Date.now(), onSet, onDelete });
    await fireEvent.click(screen.getByRole('button', { name: 'Edit interval' }));
    await fireEvent.input(screen.getByLabelText('Value (JSON)'), { target: { value: '60' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(onSet).toHaveBeenCalledWith('interval', 60, 4);
    await fireEvent.click(screen.getByRole('button', { name: 'Delete interval' }));
    expect(onDelete).toHaveBeenCalledWith('interval', 4);
  });

  it('after a refused save (CONFLICT), says the key changed and a second save replaces what the table then shows', async () => {
    const onSet = vi.fn(async (): Promise<{ message: string; code: string; fields: Record<string, string> } | null> => ({ message: 'conflict', code: 'CONFLICT', fields: {} }));
    const { rerender } = render(ConfigEditor, { entries, editable: true, now: Date.now(), onSet, onDelete: vi.fn(async () => null) });
    await fireEvent.click(screen.getByRole('button', { name: 'Edit interval' }));
    await fireEvent.input(screen.getByLabelText('Value (JSON)'), { target: { value: '60' } });
    // Someone else's change is committed; the live table shows it after the refusal.
    await fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(screen.getByRole('alert').textContent).toContain('"interval" was changed by someone else since you began editing; nothing was saved.'));
    await rerender({ entries: [{ ...entries[0], value: 45, revision: 6 }] });
    onSet.mockImplementation(async () => null);
    await fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(onSet).toHaveBeenLastCalledWith('interval', 60, 6);
    expect((screen.getByLabelText('Value (JSON)') as HTMLTextAreaElement).value).toBe('');
  });

  it('warns while editing when the key changes under the form; saving then replaces the change shown', async () => {
    const onSet = vi.fn(async () => null);
    const { rerender } = render(ConfigEditor, { entries, editable: true, now: Date.now(), onSet, onDelete: vi.fn(async () => null) });
    await fireEvent.click(screen.getByRole('button', { name: 'Edit interval' }));
    expect(screen.queryByRole('status')).toBeNull();
    await rerender({ entries: [{ ...entries[0], value: 45, revision: 5 }] });
    expect(screen.getByRole('status').textContent).toContain('"interval" has been changed by someone else since you began editing');
    await fireEvent.input(screen.getByLabelText('Value (JSON)'), { target: { value: '90' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(onSet).toHaveBeenCalledWith('interval', 90, 5);
  });

  it("shows the server's field message next to the field it names", async () => {
    const onSet = vi.fn(async () => ({ message: 'Invalid input', code: 'BAD_USER_INPUT', fields: { key: 'too long' } }));
    render(ConfigEditor, { entries: [], editable: true, now: Date.now(), onSet, onDelete: vi.fn(async () => null) });
    await fireEvent.input(screen.getByLabelText('Key'), { target: { value: 'x'.repeat(300) } });
    await fireEvent.input(screen.getByLabelText('Value (JSON)'), { target: { value: '1' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Add' }));
    await waitFor(() => expect(screen.getByText('too long')).toBeTruthy());
    expect(screen.getByLabelText('Key').getAttribute('aria-invalid')).toBe('true');
  });

  it('a viewer sees the values but no controls', () => {
    render(ConfigEditor, { entries, editable: false, now: Date.now(), onSet: vi.fn(), onDelete: vi.fn() });
    expect(screen.getByText('interval')).toBeTruthy();
    expect(screen.queryByRole('button')).toBeNull();
    expect(screen.queryByLabelText('Value (JSON)')).toBeNull();
  });
});

describe('tag editor', () => {
  it('adds several comma-separated tags at once, skipping ones already there', async () => {
    const onAdd = vi.fn(async () => null);
    render(TagEditor, { tags: ['eu'], editable: true, onAdd, onRemove: vi.fn(async () => null) });
    await fireEvent.input(screen.getByLabelText('New tag'), { target: { value: 'eu, critical ,, db' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Add tag' }));
    expect(onAdd).toHaveBeenCalledWith(['critical', 'db']);
  });

  it('points out a tag typed with a space (which the server refuses) and sends nothing until it is fixed', async () => {
    const onAdd = vi.fn(async () => null);
    render(TagEditor, { tags: [], editable: true, onAdd, onRemove: vi.fn(async () => null) });
    const input = screen.getByLabelText('New tag');
    await fireEvent.input(input, { target: { value: 'eu, needs review' } });
    expect(screen.getByRole('alert').textContent).toBe('Tags cannot contain spaces (“needs review”): separate tags with commas.');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect((screen.getByRole('button', { name: 'Add tag' }) as HTMLButtonElement).disabled).toBe(true);
    await fireEvent.submit(input.closest('form')!);
    expect(onAdd).not.toHaveBeenCalled();
    await fireEvent.input(input, { target: { value: 'eu, needs-review' } });
    expect(screen.queryByRole('alert')).toBeNull();
    await fireEvent.click(screen.getByRole('button', { name: 'Add tag' }));
    expect(onAdd).toHaveBeenCalledWith(['eu', 'needs-review']);
  });

  it('removes one tag by its labelled button', async () => {
    const onRemove = vi.fn(async () => null);
    render(TagEditor, { tags: ['eu', 'db'], editable: true, onAdd: vi.fn(async () => null), onRemove });
    await fireEvent.click(screen.getByRole('button', { name: 'Remove tag db' }));
    expect(onRemove).toHaveBeenCalledWith('db');
  });

  it('a failed change keeps the draft and shows the reason', async () => {
    render(TagEditor, { tags: [], editable: true, onAdd: vi.fn(async () => 'Tags are limited to 64 characters'), onRemove: vi.fn() });
    await fireEvent.input(screen.getByLabelText('New tag'), { target: { value: 'x' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Add tag' }));
    await waitFor(() => expect(screen.getByRole('alert').textContent).toContain('64 characters'));
    expect((screen.getByLabelText('New tag') as HTMLInputElement).value).toBe('x');
  });

  it('a viewer sees tags without remove buttons or an input', () => {
    render(TagEditor, { tags: ['eu'], editable: false, onAdd: vi.fn(), onRemove: vi.fn() });
    expect(screen.getByText('eu')).toBeTruthy();
    expect(screen.queryByRole('button')).toBeNull();
    expect(screen.queryByLabelText('New tag')).toBeNull();
  });
});
