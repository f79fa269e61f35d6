// The processes `npm run bench:hops` compares, one per fork, chosen by HOP_KIND (each listens on a free port
// and sends it to the parent):
//   upstream      Node's http server answering like the seat-service's hold (201, a small JSON body)
//   node          Node's http server answering the same itself (the floor of one HTTP hop)
//   express       express 5 answering it from a route (one express hop, no backing service)
//   express-app-server  the same, served as the services serve express (createAppServer: requests are born
//                 with express's prototypes)
//   node-proxy    Node's http client and server relaying to the upstream (the floor of a proxying hop)
//   express-hpm   express 5 + http-proxy-middleware relaying to the upstream (the gateway's two packages, nothing else)
//   express-hpm-app-server  the same, served by createAppServer
//   express-gateway-proxy  express 5 + the gateway's own proxy (its options, plugins, timeouts and error answers)
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ROOT } from '../ensure-install.mjs';

const require = createRequire(path.join(ROOT, 'services', 'gateway', 'package.json'));
const { createAppServer, keepConnectionsOpen } = require(path.join(ROOT, 'packages', 'runtime', 'dist', 'index.js'));
const { quietLogger } = require(path.join(ROOT, 'packages', 'testing', 'dist', 'index.js'));
const kind = process.env.HOP_KIND;
const upstream = process.env.HOP_UPSTREAM_URL;
const HOLD = JSON.stringify({
  eventId: '00000000-0000-4000-8000-000000000001',
  seatNumber: 1,
  userId: '00000000-0000-4000-8000-000000000002',
  heldAt: new Date(0).toISOString(),
  expiresAt: new Date(0).toISOString(),
});
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function answer(req, res) {
  req.resume();
  req.once('end', () => {
    res.writeHead(201, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(HOLD),
    });
    res.end(HOLD);
  });
}

function expressApp() {
  const express = require('express');
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  return app;
}

function expressHpm() {
  const { createProxyMiddleware } = require('http-proxy-middleware');
  // Without its plugins, http-proxy throws a relay error unless there is a handler: answer it, as a 502.
  const failed = (_err, _req, res) => {
    if (res.headersSent || !res.writeHead) res.destroy();
    else res.writeHead(502).end();
  };
  return expressApp().use(
    createProxyMiddleware({ target: upstream, agent, xfwd: true, ejectPlugins: true, on: { error: failed } }),
  );
}

const handlers = {
  upstream: () => (req, res) => (req.url.startsWith('/health') ? res.end('{"status":"ok"}') : answer(req, res)),
  node: () => answer,
  express: () => expressApp().post('/api/seats/:eventId/:seatNumber/hold', answer),
  'express-app-server': () => expressApp().post('/api/seats/:eventId/:seatNumber/hold', answer),
  'node-proxy': () => {
    const target = new URL(upstream);
    return (req, res) => {
      const proxied = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
        (answered) => {
          res.writeHead(answered.statusCode, answered.headers);
          answered.pipe(res);
        },
      );
      proxied.on('error', () => res.destroy());
      req.pipe(proxied);
    };
  },
  'express-hpm': expressHpm,
  'express-hpm-app-server': expressHpm,
  'express-gateway-proxy': () => {
    const { createUpstreamProxy } = require(
      path.join(ROOT, 'services', 'gateway', 'dist', 'entry-points', 'http', 'proxy.js'),
    );
    return expressApp().use(createUpstreamProxy(upstream, quietLogger, 10_000));
  },
};

if (!handlers[kind]) throw new Error(`HOP_KIND must be one of ${Object.keys(handlers).join(', ')}`);
const handler = handlers[kind]();
const server = kind.endsWith('-app-server') ? createAppServer(handler) : http.createServer(handler);
// As the services do: a relay's idle keep-alive socket must not be closed under it between two of its
// windows, or its next request races the close.
keepConnectionsOpen(server);
server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }));
process.once('SIGTERM', () => process.exit(0));
