// nginx/nginx.conf for real: `nginx -t`, then nginx itself in front of two stub gateways and two stub
// notifiers on 127.0.0.1, checking what the services rely on (client IP, request id, REST to the gateways,
// WebSocket handshakes straight to the notifiers, per-IP limits, body limit, JSON errors). A second copy
// with the handshakes sent to the gateways must fail the route checks, so they are known to bite.
// Usage: node nginx.mjs <nginx binary>. The real file is never edited; a copy points at the stubs.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
const nginxes = [];
// The limit on open WebSockets per address, lowered in the test copy so that it is reached quickly.
const TEST_SOCKETS_PER_IP = 25;
// Each limit check connects from its own loopback address, so one check's sockets never count for another.
const CLIENT = { plain: '127.0.0.1', burst: '127.0.0.2', sockets: '127.0.0.3', overflow: '127.0.0.4' };

function cleanup() {
  for (const nginx of nginxes) if (nginx.exitCode === null) nginx.kill('SIGTERM');
  for (const stub of stubs) stub.server.close();
  rmSync(work, { recursive: true, force: true });
}

/**
 * A stand-in gateway or notifier: answers with the headers it received; on an upgrade, answers 101 with
 * what it saw (path and headers, as JSON in X-Seen) and echoes bytes, or 503 like a full notifier.
 */
function startStub(name) {
  const stub = { name, full: false };
  stub.server = createServer((req, res) => {
    let size = 0;
    req.on('data', (chunk) => (size += chunk.length));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ stub: name, path: req.url, size, headers: req.headers }));
    });
  });
  stub.server.on('upgrade', (req, socket) => {
    socket.on('error', () => socket.destroy());
    if (stub.full) {
      const body = JSON.stringify({ error: { code: 'DEPENDENCY_UNAVAILABLE', message: `${name} is full` } });
      socket.end(
        'HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      return;
    }
    const seen = Buffer.from(JSON.stringify({ path: req.url, headers: req.headers })).toString('base64');
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `X-Stub: ${name}\r\nX-Seen: ${seen}\r\n\r\n`,
    );
    socket.on('data', (data) => socket.write(data));
  });
  return new Promise((resolve) => stub.server.listen(0, '127.0.0.1', () => resolve(stub)));
}

const stubNamed = (name) => stubs.find((s) => s.name === name);
const port = (name) => stubNamed(name).server.address().port;

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
    const options = { host: '127.0.0.1', port, method, path, headers, timeout: 5000 };
    const req = request(options, (res) => {
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

/**
 * A WebSocket handshake (or, with `upgrade`, another protocol's). Resolves with the status, the headers,
 * what the upstream saw (`seen`), the echo of 'ping', and a refusal's body; with `keep`, the socket stays
 * open (`close()` ends it).
 */
function upgrade(port, path, { headers = {}, from = CLIENT.plain, keep = false, protocol = 'websocket' } = {}) {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      localAddress: from,
      timeout: 5000,
      headers: {
        Connection: 'Upgrade',
        Upgrade: protocol,
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.on('error', () => {});
      const seen = res.headers['x-seen'] ? JSON.parse(Buffer.from(res.headers['x-seen'], 'base64').toString()) : {};
      socket.once('data', (data) => {
        if (!keep) socket.destroy();
        const close = () => new Promise((done) => (socket.destroyed ? done() : socket.once('close', done).destroy()));
        resolve({ status: res.statusCode, headers: res.headers, seen, echoed: data.toString(), close });
      });
      socket.write('ping');
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, seen: {}, echoed: '', text }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

const jsonError = (res) => {
  try {
    return res.headers['content-type'] === 'application/json' ? JSON.parse(res.text).error?.code : undefined;
  } catch {
    return undefined;
  }
};

function hardNofileLimit() {
  const limit = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
  return limit === 'unlimited' ? 65536 : Number(limit);
}

/**
 * The real config with only addresses, writable paths, the descriptor limit and the per-IP socket limit
 * changed; each rewrite
 * must apply. `mutate` breaks the copy on purpose (the self-test).
 */
function testConfig(original, listenPort, dir, mutate = (config) => config) {
  let config = mutate(original);
  const rewrite = (pattern, replacement, expected) => {
    const count = (config.match(pattern) ?? []).length;
    if (count !== expected)
      throw new Error(`expected ${expected} match(es) of ${pattern} in nginx.conf, found ${count}`);
    config = config.replace(pattern, replacement);
  };
  for (const name of ['gateway-1', 'gateway-2', 'notifier-1', 'notifier-2']) {
    const upstreamPort = name.startsWith('gateway') ? 3000 : 3003;
    rewrite(new RegExp(`server ${name}:${upstreamPort}`, 'g'), `server 127.0.0.1:${port(name)}`, 1);
  }
  // Unprivileged here, nginx may raise its descriptors only up to this shell's hard limit.
  rewrite(/^worker_rlimit_nofile \d+;/gm, `worker_rlimit_nofile ${Math.min(65536, hardNofileLimit())};`, 1);
  rewrite(/limit_conn websockets_per_ip \d+;/g, `limit_conn websockets_per_ip ${TEST_SOCKETS_PER_IP};`, 1);
  rewrite(/listen 8080;/g, `listen 127.0.0.1:${listenPort};`, 1);
  rewrite(/\/tmp\//g, `${dir}/`, config.match(/\/tmp\//g)?.length ?? 0);
  rewrite(/access_log \/dev\/stdout/g, `access_log ${dir}/access.log`, 1);
  return config;
}

/** Writes a test copy, checks it with `nginx -t` and runs it; resolves with its port, or undefined. */
async function startNginx(label, mutate) {
  const dir = join(work, label);
  mkdirSync(dir);
  const listenPort = await freePort();
  const confPath = join(dir, 'nginx.conf');
  writeFileSync(confPath, testConfig(readRepoFile('nginx', 'nginx.conf'), listenPort, dir, mutate));
  const syntax = spawnSync(nginxBin, ['-t', '-p', `${dir}/`, '-c', confPath], { encoding: 'utf8' });
  if (syntax.status !== 0) return { syntaxError: syntax.stderr.trim() };
  const nginx = spawn(nginxBin, ['-p', `${dir}/`, '-c', confPath, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  nginxes.push(nginx);
  const instance = { port: listenPort, errors: '' };
  nginx.stderr.on('data', (chunk) => (instance.errors += chunk));
  await waitForListener(listenPort);
  return instance;
}

/**
 * The routing every deployment relies on; returns what is wrong (empty when right): REST and plain GETs
 * to the gateways, every WebSocket handshake to a notifier with its query string.
 */
async function routeProblems(listenPort) {
  const problems = [];
  const rest = await send(listenPort);
  if (rest.status !== 200 || !JSON.parse(rest.text).stub.startsWith('gateway')) problems.push('REST not to a gateway');
  for (const path of ['/', '/ws']) {
    const plain = await send(listenPort, { path });
    if (plain.status !== 200 || !JSON.parse(plain.text).stub.startsWith('gateway'))
      problems.push(`plain GET ${path} not to a gateway`);
  }
  for (const path of ['/', '/ws', '/ws?token=abc']) {
    const ws = await upgrade(listenPort, path);
    const to = ws.headers['x-stub'] ?? `status ${ws.status}`;
    if (ws.status !== 101 || !to.startsWith('notifier') || ws.echoed !== 'ping' || ws.seen.path !== path)
      problems.push(`handshake on ${path} went to ${to} as ${ws.seen.path}`);
  }
  return problems;
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

/** Opens `count` handshakes from one address, one after another, `gapMs` apart; all stay open. */
async function openSockets(listenPort, from, count, gapMs) {
  const results = [];
  for (let i = 0; i < count; i += 1) {
    results.push(await upgrade(listenPort, '/ws', { from, keep: true }));
    await new Promise((r) => setTimeout(r, gapMs));
  }
  return results;
}

async function checkRestAndHeaders(listenPort) {
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
  report.check(
    hits.size === 2 && [...hits].every((name) => name.startsWith('gateway')),
    'REST is spread over both gateways',
    [...hits].join(','),
  );

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
  report.check(
    big.status === 413 && jsonError(big) === 'PAYLOAD_TOO_LARGE',
    'a body over 16 KiB gets 413 PAYLOAD_TOO_LARGE as JSON',
    `${big.status} ${big.text.slice(0, 80)}`,
  );
}

async function checkWebSocketRoute(listenPort) {
  const problems = await routeProblems(listenPort);
  report.check(
    problems.length === 0,
    'REST and plain GET / and /ws reach the gateways; handshakes on /, /ws and /ws?token= reach a notifier',
    problems.join('; '),
  );

  const ws = await upgrade(listenPort, '/ws?token=abc', {
    headers: {
      'X-Forwarded-For': '203.0.113.9',
      'X-User-Id': '00000000-0000-4000-8000-000000000001',
      'X-Auth-Request-User': 'admin',
      Cookie: 'session=1',
      'Sec-WebSocket-Protocol': 'zephyr',
      Origin: 'http://localhost:3000',
    },
  });
  const seen = ws.seen.headers ?? {};
  report.check(
    seen['x-forwarded-for'] === '127.0.0.1' && seen['x-real-ip'] === '127.0.0.1',
    'the notifier gets the real client address, not what the client claimed',
    seen['x-forwarded-for'],
  );
  report.check(
    /^[0-9a-f]{32}$/.test(seen['x-request-id'] ?? '') && seen['x-forwarded-proto'] === 'http',
    'the notifier gets a request id and X-Forwarded-Proto, as from the gateway',
  );
  report.check(
    seen['sec-websocket-key'] === 'dGhlIHNhbXBsZSBub25jZQ==' &&
      seen['sec-websocket-version'] === '13' &&
      seen['sec-websocket-protocol'] === 'zephyr' &&
      seen.origin === 'http://localhost:3000' &&
      seen.upgrade === 'websocket' &&
      seen.connection === 'upgrade',
    'the handshake headers reach the notifier',
    JSON.stringify(seen),
  );
  const leaked = ['x-user-id', 'x-auth-request-user', 'cookie'].filter((name) => name in seen);
  report.check(leaked.length === 0, 'client headers outside the handshake do not reach the notifier', leaked.join());

  const other = await upgrade(listenPort, '/ws', { protocol: 'h2c' });
  report.check(
    other.headers['x-stub']?.startsWith('gateway'),
    'an upgrade to another protocol stays with the gateways',
  );
  const internal = await upgrade(listenPort, '/.notifier/ws');
  report.check(
    internal.status === 404 && !internal.headers['x-stub'],
    'the internal notifier location cannot be requested directly',
    `${internal.status} ${internal.headers['x-stub'] ?? ''}`,
  );

  // Sockets are long-lived: least_conn puts the next one on the replica holding fewer.
  const open = [];
  for (let i = 0; i < 4; i += 1) open.push(await upgrade(listenPort, '/ws', { keep: true }));
  const spread = open.map((o) => o.headers['x-stub']);
  report.check(
    spread.filter((n) => n === 'notifier-1').length === 2 && spread.filter((n) => n === 'notifier-2').length === 2,
    'open WebSockets are spread over both notifiers',
    spread.join(','),
  );
  await Promise.all(open.map((o) => o.close()));

  stubNamed('notifier-1').full = true;
  const moved = [];
  for (let i = 0; i < 3; i += 1) moved.push(await upgrade(listenPort, '/ws'));
  report.check(
    moved.every((m) => m.status === 101 && m.headers['x-stub'] === 'notifier-2'),
    'a full notifier (503 at the upgrade) is skipped for the other',
    moved.map((m) => `${m.status} ${m.headers['x-stub'] ?? ''}`).join(','),
  );
  stubNamed('notifier-2').full = true;
  const refused = await upgrade(listenPort, '/ws');
  report.check(
    refused.status === 503 && jsonError(refused) === 'DEPENDENCY_UNAVAILABLE' && refused.headers['retry-after'] === '1',
    "with every notifier full, the notifier's own 503 reaches the client",
    `${refused.status} ${refused.text?.slice(0, 80)}`,
  );
  stubNamed('notifier-1').full = false;
  stubNamed('notifier-2').full = false;
}

async function checkPerIpLimits(listenPort) {
  // Upgrades per second: 1 + a burst of 20 at once, then 10 a second, per address.
  const burst = await Promise.all(Array.from({ length: 40 }, () => upgrade(listenPort, '/ws', { from: CLIENT.burst })));
  const accepted = burst.filter((r) => r.status === 101).length;
  const limited = burst.filter((r) => r.status === 429 && jsonError(r) === 'RATE_LIMITED' && r.headers['retry-after']);
  report.check(
    accepted >= 21 && accepted < 40 && accepted + limited.length === 40,
    'a burst of 40 handshakes from one address: 21 or so pass, the rest get 429 RATE_LIMITED as JSON',
    `${accepted} passed, ${limited.length} limited, ${burst.map((r) => r.status).join(',')}`,
  );
  const other = await upgrade(listenPort, '/ws', { from: CLIENT.overflow });
  report.check(other.status === 101, 'another address is not limited by that burst', String(other.status));

  // Open sockets per address: paced under the rate, then one more after the rate bucket refilled.
  const held = await openSockets(listenPort, CLIENT.sockets, TEST_SOCKETS_PER_IP, 120);
  await new Promise((r) => setTimeout(r, 2500));
  const over = await upgrade(listenPort, '/ws', { from: CLIENT.sockets, keep: true });
  report.check(
    held.every((r) => r.status === 101) && over.status === 429 && jsonError(over) === 'RATE_LIMITED',
    `open WebSockets per address are capped (test copy: ${TEST_SOCKETS_PER_IP}), the next one gets 429`,
    `${held.filter((r) => r.status === 101).length} open, then ${over.status}`,
  );
  await held[0].close();
  await new Promise((r) => setTimeout(r, 200));
  const freed = await upgrade(listenPort, '/ws', { from: CLIENT.sockets });
  report.check(freed.status === 101, 'a closed socket frees its slot for that address', String(freed.status));
  await Promise.all(held.map((r) => r.close?.()));
}

function checkStaticSettings() {
  const config = readRepoFile('nginx', 'nginx.conf');
  const number = (pattern) => Number(pattern.exec(config)?.[1]);
  const rlimit = number(/^worker_rlimit_nofile (\d+);/m);
  const connections = number(/^\s*worker_connections (\d+);/m);
  const perIp = number(/limit_conn websockets_per_ip (\d+);/);
  report.check(
    connections >= 20_000 && rlimit >= connections,
    `descriptors: worker_connections ${connections} (two per proxied WebSocket) within worker_rlimit_nofile ${rlimit}`,
  );
  report.check(perIp > 0 && perIp <= 1000, `open WebSockets per address capped at ${perIp}`);
  const notifierLocation = /location \^~ \/\.notifier\/ \{([^}]*)\}/.exec(config)?.[1] ?? '';
  report.check(
    /proxy_read_timeout 1h;/.test(notifierLocation) && /proxy_send_timeout 1h;/.test(notifierLocation),
    'the WebSocket route keeps idle sockets for 1 h',
  );
}

/** The same checks on a copy whose handshakes go to the gateways: they must fail. */
async function selfTest() {
  const broken = await startNginx('broken', (config) =>
    config.replace(/proxy_pass http:\/\/notifier;/, 'proxy_pass http://gateway;'),
  );
  if (broken.syntaxError) return report.fail(`self-test copy rejected by nginx -t: ${broken.syntaxError}`);
  const problems = await routeProblems(broken.port);
  report.check(
    problems.length > 0,
    'self-test: the route check fails on a copy that sends handshakes to the gateways',
    'it passed',
  );
}

async function main() {
  stubs.push(
    await startStub('gateway-1'),
    await startStub('gateway-2'),
    await startStub('notifier-1'),
    await startStub('notifier-2'),
  );
  const nginx = await startNginx('real');
  report.check(!nginx.syntaxError, 'nginx -t accepts nginx/nginx.conf', nginx.syntaxError);
  if (nginx.syntaxError) return;

  checkStaticSettings();
  await checkRestAndHeaders(nginx.port);
  await checkWebSocketRoute(nginx.port);
  await checkPerIpLimits(nginx.port);
  await selfTest();

  // Upstream keep-alive sockets would keep the stubs answering; drop them too.
  for (const s of stubs) {
    s.server.close();
    s.server.closeAllConnections();
  }
  const down = await send(nginx.port);
  report.check(
    down.status === 503 && jsonError(down) === 'DEPENDENCY_UNAVAILABLE',
    'with no gateway up, 503 DEPENDENCY_UNAVAILABLE as JSON',
    `${down.status} ${down.text.slice(0, 80)}`,
  );
  const noNotifier = await upgrade(nginx.port, '/ws');
  report.check(
    noNotifier.status === 503 && jsonError(noNotifier) === 'DEPENDENCY_UNAVAILABLE' && /notifier/.test(noNotifier.text),
    'with no notifier up, a handshake gets 503 DEPENDENCY_UNAVAILABLE as JSON',
    `${noNotifier.status} ${noNotifier.text?.slice(0, 80)}`,
  );
  if (/\[(emerg|alert|crit)\]/.test(nginx.errors)) report.fail(`nginx logged: ${nginx.errors.trim()}`);
}

main()
  .catch((err) => report.fail(`behaviour test: ${err.message}`))
  .finally(() => {
    clearTimeout(deadline);
    cleanup();
    report.finish();
  });
