export type ThemeChoice = 'system' | 'light' | 'dark';
const KEY = 'agent-monitor.theme';

/** Follows prefers-color-scheme until the operator picks a side; the pick is remembered. */
export class Theme {
  choice = $state<ThemeChoice>('system');
  systemDark = $state(false);
  effective = $derived<'light' | 'dark'>(
    this.choice === 'system' ? (this.systemDark ? 'dark' : 'light') : this.choice,
  );
  #media: MediaQueryList | undefined;
  #onChange = (e: MediaQueryListEvent) => (this.systemDark = e.matches);

  constructor() {
    const stored = safeGet(KEY);
    if (stored === 'light' || stored === 'dark') this.choice = stored;
    if (typeof matchMedia === 'function') {
      this.#media = matchMedia('(prefers-color-scheme: dark)');
      this.systemDark = this.#media.matches;
      this.#media.addEventListener('change', this.#onChange);
    }
  }

  set(choice: ThemeChoice) {
    this.choice = choice;
    if (choice === 'system') {
      safeRemove(KEY);
      delete document.documentElement.dataset.theme;
    } else {
      safeSet(KEY, choice);
      document.documentElement.dataset.theme = choice;
    }
  }

  /** One button cycles system -> light -> dark, so the keyboard needs only Enter. */
  cycle() {
    this.set(this.choice === 'system' ? 'light' : this.choice === 'light' ? 'dark' : 'system');
  }

  destroy() {
    this.#media?.removeEventListener('change', this.#onChange);
  }
}

function safeGet(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}
function safeSet(key: string, value: string) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Private mode without storage: the choice lasts for this page only.
  }
}
function safeRemove(key: string) {
  try {
    localStorage.removeItem(key);
  } catch {
    // Same as above.
  }
}
