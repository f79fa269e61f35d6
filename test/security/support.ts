import { constants, createHmac, randomBytes, sign, type KeyObject } from 'node:crypto';
import net from 'node:net';
import {
  startService,
  startStack,
  useStack,
  type ServiceProcess,
  type Stack,
  type StackFixture,
  type StackFixtureOptions,
  type WsClient,
} from '@zephyr/testing';

/** Shared helpers of the security suite: raw HTTP, WebSocket probes, hand-made JWTs, envelope checks. */

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Parsed body when it is JSON. */
  json: unknown;
  /** True when the server closed the connection. */
  closed: boolean;
}

function parseResponse(raw: Buffer, closed: boolean): RawResponse | undefined {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let bytes = raw.subarray(end + 4);
  // An accepted upgrade: what follows is WebSocket frames, not a body.
  if (statusLine!.split(' ')[1] === '101') return { status: 101, headers, body: '', json: undefined, closed };
  const length = headers['content-length'];
  if (length !== undefined) {
    if (bytes.length < Number(length)) return undefined;
    bytes = bytes.subarray(0, Number(length));
  } else if (headers['transfer-encoding'] === 'chunked') {
    if (!bytes.toString('latin1').endsWith('0\r\n\r\n') && !closed) return undefined;
    const decoded: Buffer[] = [];
    let rest = bytes;
    for (;;) {
      const lineEnd = rest.indexOf('\r\n');
      const size = parseInt(rest.subarray(0, lineEnd).toString('latin1'), 16);
      if (!size) break;
      decoded.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
      rest = rest.subarray(lineEnd + 2 + size + 2);
    }
    bytes = Buffer.concat(decoded);
  } else if (!closed) return undefined;
  const body = bytes.toString('utf8');
  let json: unknown;
  try {
    json = body ? JSON.parse(body) : undefined;
  } catch {
    json = undefined;
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, body, json, closed };
}

/**
 * Sends bytes exactly as given (no client-side URL normalisation or header checks) and reads one response.
 * `parts` are written with `gapMs` between them; resolves on a full response or on close.
 */
export function rawHttp(
  port: number,
  parts: (string | Buffer)[] | string,
  { gapMs = 0, timeoutMs = 5000 }: { gapMs?: number; timeoutMs?: number } = {},
): Promise<RawResponse & { elapsedMs: number }> {
  const chunks = typeof parts === 'string' ? [parts] : parts;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let settled = false;
    const timer = setTimeout(
      () =>
        settle(
          new Error(`no response within ${timeoutMs} ms; got ${JSON.stringify(received.subarray(0, 300).toString())}`),
        ),
      timeoutMs,
    );
    const settle = (result: RawResponse | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (result instanceof Error) reject(result);
      else resolve({ ...result, elapsedMs: Date.now() - started });
    };
    socket.on('data', (data) => {
      received = Buffer.concat([received, data]);
      const parsed = parseResponse(received, false);
      if (parsed) settle(parsed);
    });
    socket.on('close', () => {
      const parsed = parseResponse(received, true);
      settle(
        parsed ??
          new Error(
            `connection closed without a response; got ${JSON.stringify(received.subarray(0, 300).toString())}`,
          ),
      );
    });
    // A server that answers early and closes makes later writes fail: the answer is what counts.
    socket.on('error', () => undefined);
    socket.on('connect', async () => {
      for (const [i, chunk] of chunks.entries()) {
        if (settled || socket.destroyed) return;
        socket.write(chunk);
        if (gapMs > 0 && i < chunks.length - 1) await new Promise((r) => setTimeout(r, gapMs));
      }
    });
  });
}

export const portOf = (baseUrl: string): number => Number(new URL(baseUrl).port);

/** A request in bytes; Host and Connection: close are added. */
export function rawRequest(
  method: string,
  target: string,
  headers: Record<string, string> = {},
  body?: string,
): string {
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body ?? ''}`;
}

const LEAK = /\n\s+at |\bat [\w$.<>]+ \(|\/work\/|node_modules|[\w-]+\.(ts|js):\d+|\bstack\b/i;

/** The contract's error envelope with the expected status/code, and nothing internal in it. */
export function expectError(
  res: { status: number; body?: unknown; json?: unknown },
  status: number | number[],
  code?: string | string[],
): void {
  const body = 'json' in res && res.json !== undefined ? res.json : res.body;
  const statuses = Array.isArray(status) ? status : [status];
  const context = JSON.stringify({ status: res.status, body }).slice(0, 600);
  if (!statuses.includes(res.status)) throw new Error(`expected status ${statuses.join('|')}: ${context}`);
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (!error || typeof error.code !== 'string' || typeof error.message !== 'string')
    throw new Error(`no error envelope: ${context}`);
  if (code !== undefined && !(Array.isArray(code) ? code : [code]).includes(error.code))
    throw new Error(`expected code ${String(code)}: ${context}`);
  expectNoLeak(body);
}

export function expectNoLeak(body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  if (LEAK.test(text ?? '')) throw new Error(`internal detail leaked: ${text!.slice(0, 600)}`);
}

// ---- hand-made JWTs -------------------------------------------------------------------------------------

export const b64url = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** header.payload.signature with an HMAC over the first two parts, whatever the header claims. */
export function hs256(
  payload: object | string,
  secret: string | Buffer,
  header: object = { alg: 'HS256', typ: 'JWT' },
  hash = 'sha256',
): string {
  const signingInput = `${b64url(header)}.${b64url(payload)}`;
  return `${signingInput}.${createHmac(hash, secret).update(signingInput).digest('base64url')}`;
}

export type Signature = 'RS256' | 'PS256' | 'ES256';

/** An asymmetric signature of the kind named, under whatever header is given. */
export function signWith(kind: Signature, key: KeyObject, payload: object, header: object): string {
  const signingInput = `${b64url(header)}.${b64url(payload)}`;
  const data = Buffer.from(signingInput);
  const signature =
    kind === 'RS256'
      ? sign('sha256', data, key)
      : kind === 'PS256'
        ? sign('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
        : sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
  return `${signingInput}.${signature.toString('base64url')}`;
}

export function unsigned(payload: object, header: object = { alg: 'none', typ: 'JWT' }): string {
  return `${b64url(header)}.${b64url(payload)}.`;
}

/** Replaces a token's payload, keeping its header and signature. */
export function withPayload(token: string, payload: object): string {
  const [header, , signature] = token.split('.');
  return `${header}.${b64url(payload)}.${signature}`;
}

export function decodePayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

// ---- WebSocket probes -----------------------------------------------------------------------------------

/** A WebSocket upgrade request in bytes (the handshake the ws client would send). */
export function upgradeRequest(target: string, headers: Record<string, string> = {}): string {
  return rawRequest('GET', target, {
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    ...headers,
  }).replace('Connection: close', 'Connection: Upgrade');
}

/** The gateway's answer to an upgrade: 101 when accepted, else the refusal with its JSON body. */
export async function upgradeStatus(port: number, target: string): Promise<RawResponse> {
  return rawHttp(port, upgradeRequest(target));
}

type Socket = WsClient['socket'];

/** Resolves with the close code once the server closes the socket. */
export function closeCode(socket: Socket, timeoutMs = 5000): Promise<number> {
  if (socket.readyState === 3) return Promise.resolve(-1);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('socket not closed in time')), timeoutMs);
    socket.once('close', (code: number) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

// ---- starting processes -----------------------------------------------------------------------------------

/**
 * startStack/startService, retried when a port was taken meanwhile: the test package picks ports up to
 * 40000, which overlaps the kernel's ephemeral range (32768+) used by every outgoing connection.
 */
async function retryingOnPortClash<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (attempt >= 3 || !String((err as Error).message).includes('EADDRINUSE')) throw err;
    }
  }
}

export const startStackSafely = (...args: Parameters<typeof startStack>): Promise<Stack> =>
  retryingOnPortClash(() => startStack(...args));
export const startServiceSafely = (...args: Parameters<typeof startService>): Promise<ServiceProcess> =>
  retryingOnPortClash(() => startService(...args));

/**
 * The suite's stack: everything but the expiry worker, rate limits off unless `env` sets them, started with
 * the port-clash retry.
 */
export const useSecurityStack = (label: string, options: StackFixtureOptions = {}): StackFixture =>
  useStack(label, {
    services: ['event-service', 'seat-service', 'notifier', 'gateway'],
    start: startStackSafely,
    timeoutMs: 90_000,
    ...options,
    env: (isolation) => ({
      RATE_LIMIT_PER_IP: '0',
      RATE_LIMIT_PER_USER: '0',
      ...(typeof options.env === 'function' ? options.env(isolation) : options.env),
    }),
  });
