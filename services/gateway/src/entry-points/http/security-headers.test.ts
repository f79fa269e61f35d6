import type { AddressInfo } from 'node:net';
import express, { type RequestHandler } from 'express';
import helmet from 'helmet';
import { createAppServer } from '@zephyr/runtime';
import { securityHeaders } from './security-headers';

/** The headers one express app sends for GET / with `first` in front of a plain JSON answer. */
async function headersWith(first: RequestHandler): Promise<Record<string, string>> {
  const app = express();
  app.use(first);
  app.get('/', (_req, res) => {
    res.json({ ok: true });
  });
  const server = createAppServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await res.text();
    const headers = Object.fromEntries(res.headers);
    delete headers.date;
    return headers;
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('securityHeaders', () => {
  it('sends exactly the headers helmet() sends, values included', async () => {
    const fromHelmet = await headersWith(helmet());
    const recorded = await headersWith(securityHeaders());
    expect(recorded).toEqual(fromHelmet);
    // Not vacuous: helmet's policy headers are among them, and x-powered-by is gone.
    expect(recorded['content-security-policy']).toContain("default-src 'self'");
    expect(recorded['strict-transport-security']).toBeDefined();
    expect(recorded['x-content-type-options']).toBe('nosniff');
    expect(recorded['x-powered-by']).toBeUndefined();
  });

  it('sends the same headers on every response', async () => {
    const handler = securityHeaders();
    const first = await headersWith(handler);
    const second = await headersWith(handler);
    expect(second).toEqual(first);
  });
});
