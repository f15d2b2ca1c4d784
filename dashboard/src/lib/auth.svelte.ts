const KEY = 'agent-monitor.token';

/**
 * The operator's token. It arrives once through `#token=` (the link the server prints),
 * moves to localStorage and leaves the address bar at once, so it does not end up in
 * history, bookmarks or a screenshot.
 */
export class Auth {
  token = $state<string | null>(null);
  /** Why the last token was dropped, shown on the sign-in form. */
  notice = $state<string | null>(null);

  constructor() {
    const fromHash = takeHashToken();
    if (fromHash) this.signIn(fromHash);
    else this.token = read();
  }

  signIn(token: string) {
    const t = token.trim();
    if (!t) return;
    write(t);
    this.notice = null;
    this.token = t;
  }

  signOut(notice: string | null = null) {
    remove();
    this.notice = notice;
    this.token = null;
  }
}

/** Reads and strips `token=` from the fragment, keeping any other fragment parts. */
export function takeHashToken(): string | null {
  const hash = location.hash.replace(/^#/, '');
  if (!hash) return null;
  const params = new URLSearchParams(hash);
  const token = params.get('token');
  if (token === null) return null;
  params.delete('token');
  const rest = params.toString();
  history.replaceState(history.state, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
  return token;
}

function read(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}
function write(token: string) {
  try {
    localStorage.setItem(KEY, token);
  } catch {
    // Without storage the session lasts until the tab closes; still usable.
  }
}
function remove() {
  try {
    localStorage.removeItem(KEY);
  } catch {
    // Nothing stored, nothing to remove.
  }
}
