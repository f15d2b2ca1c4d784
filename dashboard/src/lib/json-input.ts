/** Parses an operator's JSON input; the message is what the editor shows under the field. */
export function parseJsonInput(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  if (!text.trim()) return { ok: false, message: 'Enter a JSON value, e.g. 30, "text", true or {"a":1}.' };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, message: `Not valid JSON: ${(e as Error).message}` };
  }
}

/** Compact for scalars, indented for objects, so short values stay on one line. */
export function formatJson(value: unknown): string {
  if (value !== null && typeof value === 'object') return JSON.stringify(value, null, 2);
  return JSON.stringify(value);
}
