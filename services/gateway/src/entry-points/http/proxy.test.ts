import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createAppServer, createLogger } from '@zephyr/runtime';
import { createUpstreamProxy, proxyTargetOf } from './proxy';

const listen = async (server: http.Server): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const close = (server: http.Server) => new Promise((resolve) => server.close(resolve));

describe('proxyTargetOf', () => {
  it('parses once what http-proxy would parse per request', () => {
    expect(proxyTargetOf('http://127.0.0.1:3002')).toEqual({
      protocol: 'http:',
      hostname: '127.0.0.1',
      host: '127.0.0.1',
      port: '3002',
      path: '/',
    });
    expect(proxyTargetOf('http://[::1]:3002/base')).toMatchObject({ hostname: '::1', port: '3002', path: '/base' });
    expect(proxyTargetOf('http://seat-service')).toMatchObject({ hostname: 'seat-service', port: '' });
  });
});

describe('createUpstreamProxy', () => {
  it('relays path, query and body to each replica in turn', async () => {
    const seen: string[] = [];
    const upstreams = ['a', 'b'].map((name) =>
      http.createServer((req, res) => {
        let body = '';
        req.on('data', (chunk: Buffer) => (body += chunk.toString()));
        req.on('end', () => {
          seen.push(`${name} ${req.method} ${req.url} ${body}`);
          res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ from: name }));
        });
      }),
    );
    const urls = await Promise.all(upstreams.map(listen));
    const app = express();
    app.use(createUpstreamProxy(urls.join(','), createLogger('test', 'silent'), 2000));
    const gateway = createAppServer(app);
    const gatewayUrl = await listen(gateway);
    try {
      const answers = [];
      for (let i = 0; i < 4; i++) {
        const res = await fetch(`${gatewayUrl}/api/seats/x/${i}/hold?probe=${i}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: `{"n":${i}}`,
        });
        answers.push(`${res.status} ${((await res.json()) as { from: string }).from}`);
      }
      expect(answers).toEqual(['201 a', '201 b', '201 a', '201 b']);
      expect(seen).toEqual([
        'a POST /api/seats/x/0/hold?probe=0 {"n":0}',
        'b POST /api/seats/x/1/hold?probe=1 {"n":1}',
        'a POST /api/seats/x/2/hold?probe=2 {"n":2}',
        'b POST /api/seats/x/3/hold?probe=3 {"n":3}',
      ]);
    } finally {
      await close(gateway);
      await Promise.all(upstreams.map(close));
    }
  });
});
