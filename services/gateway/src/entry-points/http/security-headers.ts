import type { RequestHandler } from 'express';
import helmet from 'helmet';

/**
 * helmet's headers, worked out once. helmet() runs its own chain of thirteen middlewares on every response
 * and rebuilds (and re-validates) the Content-Security-Policy string each time, though with fixed options
 * every value is the same: ~2 % of the gateway's CPU in the storm profile. helmet is run once here against
 * a recorder, and every response gets the recorded headers.
 */
export function securityHeaders(): RequestHandler {
  const headers: [string, string][] = [];
  const removed: string[] = [];
  const recorder = {
    setHeader: (name: string, value: unknown) => void headers.push([name, String(value)]),
    removeHeader: (name: string) => void removed.push(name),
  };
  let failure: unknown;
  let finished = false;
  (helmet() as unknown as (req: object, res: object, next: (err?: unknown) => void) => void)(
    { headers: {}, method: 'GET', url: '/' },
    recorder,
    (err) => {
      failure = err;
      finished = true;
    },
  );
  // Only helmet's defaults, whose every value is a fixed string (options could hold per-request values, such
  // as a CSP nonce function). A helmet that stopped answering synchronously must not send fewer headers.
  if (!finished || failure || headers.length === 0) throw new Error('helmet options cannot be computed once');
  return (_req, res, next) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    for (const name of removed) res.removeHeader(name);
    next();
  };
}
