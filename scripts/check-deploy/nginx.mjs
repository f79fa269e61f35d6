// nginx/nginx.conf for real: `nginx -t`, then nginx itself in front of two stub gateways on 127.0.0.1,
// checking what the gateways rely on (client IP, request id, WebSocket upgrade, body limit, JSON errors).
// Usage: node nginx.mjs <nginx binary>. The real file is never edited; a copy points at the stubs.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createReport, readRepoFile } from './report.mjs';

const report = createReport('nginx');
const nginxBin = process.argv[2];
const work = mkdtempSync(join(tmpdir(), 'zephyr-nginx-'));
const deadline = setTimeout(() => {
  report.fail('behaviour test did not finish within 30 s');
  cleanup();
  report.finish();
  process.exit(1);
}, 30_000);

const stubs = [];
let nginx;

function cleanup() {
  if (nginx && nginx.exitCode === null) nginx.kill('SIGTERM');
  for (const stub of stubs) stub.server.close();
  rmSync(work, { recursive: true, force: true });
}

/** A stand-in gateway: answers with the headers it received; echoes bytes on an upgraded socket. */
function startStub(name) {
  const server = createServer((req, res) => {
    let size = 0;
    req.on('data', (chunk) => (size += chunk.length));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ stub: name, path: req.url, size, headers: req.headers }));
    });
  });
  server.on('upgrade', (req, socket) => {
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `X-Stub: ${name}\r\nX-Seen-Connection: ${req.headers.connection}\r\n\r\n`,
    );
    socket.on('data', (data) => socket.write(data));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ name, server, port: server.address().port })),
  );
}

function freePort() {
  return new Promise((resolve) => {
    const probe = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function send(port, { method = 'GET', path = '/api/events', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, timeout: 5000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

function upgrade(port, path) {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      timeout: 5000,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.once('data', (data) => {
        socket.destroy();
        resolve({ status: res.statusCode, headers: res.headers, echoed: data.toString() });
      });
      socket.write('ping');
    });
    req.on('response', (res) => resolve({ status: res.statusCode, headers: res.headers, echoed: '' }));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** The real config with only addresses and writable paths changed; each rewrite must apply. */
function testConfig(original, listenPort) {
  let config = original;
  const rewrite = (pattern, replacement, expected) => {
    const count = (config.match(pattern) ?? []).length;
    if (count !== expected)
      throw new Error(`expected ${expected} match(es) of ${pattern} in nginx.conf, found ${count}`);
    config = config.replace(pattern, replacement);
  };
  rewrite(/server gateway-1:3000/g, `server 127.0.0.1:${stubs[0].port}`, 1);
  rewrite(/server gateway-2:3000/g, `server 127.0.0.1:${stubs[1].port}`, 1);
  rewrite(/listen 8080;/g, `listen 127.0.0.1:${listenPort};`, 1);
  rewrite(/\/tmp\//g, `${work}/`, config.match(/\/tmp\//g)?.length ?? 0);
  rewrite(/access_log \/dev\/stdout/g, `access_log ${work}/access.log`, 1);
  return config;
}

async function waitForListener(port) {
  for (let i = 0; i < 50; i += 1) {
    try {
      return await send(port, { path: '/' });
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('nginx did not start listening');
}

async function main() {
  stubs.push(await startStub('gateway-1'), await startStub('gateway-2'));
  const listenPort = await freePort();
  const confPath = join(work, 'nginx.conf');
  writeFileSync(confPath, testConfig(readRepoFile('nginx', 'nginx.conf'), listenPort));

  const syntax = spawnSync(nginxBin, ['-t', '-p', `${work}/`, '-c', confPath], { encoding: 'utf8' });
  report.check(syntax.status === 0, 'nginx -t accepts nginx/nginx.conf', syntax.stderr.trim());
  if (syntax.status !== 0) return;

  nginx = spawn(nginxBin, ['-p', `${work}/`, '-c', confPath, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let nginxErrors = '';
  nginx.stderr.on('data', (chunk) => (nginxErrors += chunk));
  await waitForListener(listenPort);

  const plain = await send(listenPort, { headers: { 'X-Forwarded-For': '203.0.113.9', 'X-Real-IP': '203.0.113.9' } });
  const seen = JSON.parse(plain.text).headers;
  report.check(plain.status === 200, 'REST requests reach a gateway');
  report.check(
    seen['x-forwarded-for'] === '127.0.0.1',
    'X-Forwarded-For is the real client, not what the client claimed',
    seen['x-forwarded-for'],
  );
  report.check(seen['x-real-ip'] === '127.0.0.1', 'X-Real-IP is the real client');
  report.check(/^[0-9a-f]{32}$/.test(seen['x-request-id'] ?? ''), 'a request id is minted when absent');
  report.check(
    seen.connection === undefined,
    'plain requests keep upstream connections alive (no Connection header)',
    seen.connection,
  );
  report.check(plain.headers.server === 'nginx', 'server_tokens off (no version in Server)', plain.headers.server);

  const kept = JSON.parse((await send(listenPort, { headers: { 'X-Request-Id': 'client-id_1.2' } })).text).headers;
  report.check(kept['x-request-id'] === 'client-id_1.2', "a caller's well-formed request id is kept");
  const replaced = JSON.parse(
    (await send(listenPort, { headers: { 'X-Request-Id': 'bad id <script>' } })).text,
  ).headers;
  report.check(/^[0-9a-f]{32}$/.test(replaced['x-request-id']), 'a malformed request id is replaced');

  const hits = new Set();
  for (let i = 0; i < 10; i += 1) hits.add(JSON.parse((await send(listenPort)).text).stub);
  report.check(hits.size === 2, 'traffic is spread over both gateways', [...hits].join(','));

  const small = await send(listenPort, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: 'x'.repeat(16 * 1024),
  });
  report.check(small.status === 200 && JSON.parse(small.text).size === 16 * 1024, 'a 16 KiB body passes');
  const big = await send(listenPort, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: 'x'.repeat(16 * 1024 + 1),
  });
  const bigBody = big.headers['content-type'] === 'application/json' ? JSON.parse(big.text) : {};
  report.check(
    big.status === 413 && bigBody.error?.code === 'PAYLOAD_TOO_LARGE',
    'a body over 16 KiB gets 413 PAYLOAD_TOO_LARGE as JSON',
    `${big.status} ${big.text.slice(0, 80)}`,
  );

  for (const path of ['/', '/ws', '/ws?token=abc']) {
    const ws = await upgrade(listenPort, path);
    report.check(
      ws.status === 101 && ws.echoed === 'ping' && ws.headers['x-seen-connection'] === 'upgrade',
      `WebSocket upgrade on ${path} is passed through`,
      `${ws.status} ${ws.echoed}`,
    );
  }

  const wsTimeouts = readRepoFile('nginx', 'nginx.conf').match(/proxy_read_timeout 1h;/g) ?? [];
  report.check(wsTimeouts.length === 2, 'both WebSocket locations keep idle sockets for 1 h');

  // Upstream keep-alive sockets would keep the stubs answering; drop them too.
  for (const stub of stubs) {
    stub.server.close();
    stub.server.closeAllConnections();
  }
  const down = await send(listenPort);
  const downBody = down.headers['content-type'] === 'application/json' ? JSON.parse(down.text) : {};
  report.check(
    down.status === 503 && downBody.error?.code === 'DEPENDENCY_UNAVAILABLE',
    'with no gateway up, 503 DEPENDENCY_UNAVAILABLE as JSON',
    `${down.status} ${down.text.slice(0, 80)}`,
  );
  if (/\[(emerg|alert|crit)\]/.test(nginxErrors)) report.fail(`nginx logged: ${nginxErrors.trim()}`);
}

main()
  .catch((err) => report.fail(`behaviour test: ${err.message}`))
  .finally(() => {
    clearTimeout(deadline);
    cleanup();
    report.finish();
  });
