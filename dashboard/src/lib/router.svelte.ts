/**
 * A tiny History-API router: two pages do not justify a dependency. Paths are relative to
 * the app's base (/dashboard/), so the same code works under `vite dev` and `npm start`.
 */
export const BASE = import.meta.env.BASE_URL.replace(/\/$/, '');

/** The alert settings pages, each at /alerts/<page>. */
export const SETTINGS_PAGES = ['rules', 'silences', 'channels', 'policies'] as const;
export type SettingsPage = (typeof SETTINGS_PAGES)[number];

export type Route =
  | { name: 'fleet' }
  | { name: 'agent'; id: string }
  | { name: 'alerts' }
  | { name: 'alert'; id: string }
  | { name: 'alert-settings'; page: SettingsPage }
  | { name: 'keys' }
  | { name: 'not-found' };

export function matchRoute(pathname: string): Route {
  const path = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname;
  const clean = path.replace(/\/+$/, '') || '/';
  if (clean === '/') return { name: 'fleet' };
  if (clean === '/alerts') return { name: 'alerts' };
  if (clean === '/keys') return { name: 'keys' };
  const settings = /^\/alerts\/([a-z]+)$/.exec(clean);
  const page = SETTINGS_PAGES.find((p) => p === settings?.[1]);
  if (page) return { name: 'alert-settings', page };
  const alert = /^\/alerts\/([^/]+)$/.exec(clean);
  if (alert) return { name: 'alert', id: decodeURIComponent(alert[1]) };
  const agent = /^\/agents\/([^/]+)$/.exec(clean);
  if (agent) return { name: 'agent', id: decodeURIComponent(agent[1]) };
  return { name: 'not-found' };
}

export class Router {
  pathname = $state(location.pathname);
  search = $state(location.search);
  route = $derived(matchRoute(this.pathname));

  #onPop = () => this.#sync();

  constructor() {
    window.addEventListener('popstate', this.#onPop);
  }

  #sync() {
    this.pathname = location.pathname;
    this.search = location.search;
  }

  /** `to` is app-relative ("/agents/1?x") or a full same-origin path under BASE. */
  navigate(to: string, opts: { replace?: boolean } = {}) {
    const target = to.startsWith(BASE + '/') || to === BASE ? to : BASE + (to.startsWith('/') ? to : '/' + to);
    if (target === location.pathname + location.search) return;
    if (opts.replace) history.replaceState(history.state, '', target);
    else history.pushState(null, '', target);
    this.#sync();
  }

  href(to: string): string {
    return BASE + to;
  }

  /** Delegated click handler: plain left-clicks on internal links become navigations. */
  handleClick = (event: MouseEvent) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const anchor = (event.target as Element | null)?.closest?.('a');
    if (!anchor || anchor.target || anchor.hasAttribute('download')) return;
    const url = new URL(anchor.href, location.href);
    if (url.origin !== location.origin || !url.pathname.startsWith(BASE)) return;
    event.preventDefault();
    this.navigate(url.pathname + url.search);
  };

  destroy() {
    window.removeEventListener('popstate', this.#onPop);
  }
}
