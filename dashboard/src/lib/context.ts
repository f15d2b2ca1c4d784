import { getContext, setContext } from 'svelte';
import type { Auth } from './auth.svelte';
import type { Router } from './router.svelte';
import type { Theme } from './theme.svelte';
import type { Session } from './session.svelte';

export interface AppContext {
  auth: Auth;
  router: Router;
  theme: Theme;
}

const APP = Symbol('app');
const SESSION = Symbol('session');

export const setApp = (app: AppContext) => setContext(APP, app);
export const getApp = () => getContext<AppContext>(APP);
export const setSession = (session: Session) => setContext(SESSION, session);
export const getSession = () => getContext<Session>(SESSION);
