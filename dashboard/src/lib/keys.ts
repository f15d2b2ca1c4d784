/** True when a key press belongs to a text field (or a modifier chord), not to the page's shortcuts. */
export function isTyping(event: KeyboardEvent): boolean {
  if (event.ctrlKey || event.metaKey || event.altKey) return true;
  const el = event.target as HTMLElement | null;
  if (!el || typeof el.closest !== 'function') return false;
  return !!el.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"], dialog[open]');
}

/**
 * Two-key sequences ("g f") and single keys, without a library: `feed` takes each key and
 * returns the binding it completes, if any. A sequence must complete within `windowMs`.
 */
export class KeySequence {
  #pending: { key: string; at: number } | null = null;
  constructor(
    private readonly bindings: readonly string[],
    private readonly windowMs = 1200,
  ) {}

  feed(key: string, at = Date.now()): string | null {
    const prev = this.#pending;
    this.#pending = null;
    if (prev && at - prev.at <= this.windowMs) {
      const chord = `${prev.key} ${key}`;
      if (this.bindings.includes(chord)) return chord;
    }
    if (this.bindings.some((b) => b.startsWith(`${key} `))) {
      this.#pending = { key, at };
      return null;
    }
    return this.bindings.includes(key) ? key : null;
  }
}

/** The next keyboard row after j/k: stays within the list; from none, j starts at the top. */
export function moveRow(current: number, key: 'j' | 'k', count: number): number {
  if (count === 0) return -1;
  if (current < 0) return key === 'j' ? 0 : count - 1;
  return Math.min(count - 1, Math.max(0, current + (key === 'j' ? 1 : -1)));
}
