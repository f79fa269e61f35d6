import { readClaims } from './api.js';
import { byId, say } from './dom.js';

const STORAGE_KEY = 'zephyr.token';

export interface Session {
  token: string;
  userId: string;
  admin: boolean;
}

/** The signed-in user, from the token kept in this tab only (sessionStorage, never localStorage or a cookie). */
export function currentSession(): Session | undefined {
  const token = sessionStorage.getItem(STORAGE_KEY) ?? undefined;
  if (!token) return undefined;
  const claims = readClaims(token);
  if (!claims) return undefined;
  return { token, userId: claims.sub, admin: claims.admin };
}

/** Wires the sign-in form; signing in or out reloads the view so every part sees the new identity. */
export function setUpSignIn(onChange: () => void): void {
  const form = byId<HTMLFormElement>('sign-in-form');
  const input = byId<HTMLInputElement>('token');
  const session = currentSession();
  form.hidden = session !== undefined;
  byId('signed-in').hidden = session === undefined;
  if (session) byId('who').textContent = `Signed in as ${session.userId}${session.admin ? ' (admin)' : ''}`;
  form.onsubmit = (e) => {
    e.preventDefault();
    const token = input.value.trim().replace(/^Bearer\s+/i, '');
    const claims = readClaims(token);
    if (!claims) {
      say('That does not look like a token: paste the whole JWT (three parts separated by dots).');
      return;
    }
    if (claims.exp !== undefined && claims.exp * 1000 < Date.now()) {
      say('That token has expired; mint a fresh one.');
      return;
    }
    sessionStorage.setItem(STORAGE_KEY, token);
    input.value = '';
    onChange();
  };
  byId('sign-out').onclick = () => {
    sessionStorage.removeItem(STORAGE_KEY);
    onChange();
  };
}
