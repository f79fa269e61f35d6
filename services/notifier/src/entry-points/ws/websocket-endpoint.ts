import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { ErrorCodes, errorBody, type ErrorCode, type Identity } from '@zephyr/contracts';
import { AppError, type Logger } from '@zephyr/runtime';
import { ClientSession, CloseCodes, verifyToken, type SessionDeps, type Transport } from '../../domain/client-session';
import type { NotifierMetrics } from '../../metrics';

/** Paths the gateway forwards upgrades on (SPEC.md §4). */
const WS_PATHS = new Set(['/', '/ws']);
/** Client messages are small JSON objects; anything bigger is refused by ws (close 1009). */
const MAX_PAYLOAD_BYTES = 4 * 1024;
/** How long sockets get to finish the close handshake on shutdown before they are cut. */
const CLOSE_GRACE_MS = 1000;

export interface WebSocketEndpointOptions {
  server: Server;
  session: SessionDeps;
  metrics: NotifierMetrics;
  logger: Logger;
  heartbeatIntervalMs: number;
  maxBufferedBytes: number;
  isAcceptingTraffic: () => boolean;
}

export interface WebSocketEndpoint {
  /** Refuses new upgrades and closes every socket with 1001. */
  close(): Promise<void>;
}

interface Connection {
  session: ClientSession;
  alive: boolean;
}

const STATUS_TEXT: Record<number, string> = {
  401: 'Unauthorized',
  404: 'Not Found',
  503: 'Service Unavailable',
};

/** Answers an upgrade request with a plain HTTP error (JSON body, like every other error) and drops the socket. */
function refuseUpgrade(socket: Duplex, status: number, code: ErrorCode, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(errorBody(code, message));
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n` +
      'Connection: close\r\nContent-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function textOf(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** Serves WebSocket clients on the HTTP server's upgrade event: auth, heartbeats, and the slow-client bound. */
export function attachWebSocketEndpoint(options: WebSocketEndpointOptions): WebSocketEndpoint {
  const { server, metrics, logger } = options;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD_BYTES, clientTracking: false });
  const connections = new Map<WebSocket, Connection>();
  let closing = false;

  const transportFor = (ws: WebSocket): Transport => ({
    send(text) {
      if (ws.readyState !== WebSocket.OPEN) return false;
      // Never buffer without bound for a client that does not read: cut it and let it reconnect.
      if (ws.bufferedAmount > options.maxBufferedBytes) {
        metrics.slowDisconnects.inc();
        logger.warn({ bufferedAmount: ws.bufferedAmount }, 'slow WebSocket client disconnected');
        ws.terminate();
        return false;
      }
      ws.send(text);
      return true;
    },
    close(code, reason) {
      ws.close(code, reason);
    },
  });

  const onConnection = (ws: WebSocket, identity: Identity | undefined) => {
    const session = new ClientSession(transportFor(ws), options.session);
    const connection: Connection = { session, alive: true };
    connections.set(ws, connection);
    metrics.connections.inc();
    ws.on('pong', () => {
      connection.alive = true;
    });
    ws.on('message', (data, isBinary) => session.enqueue(isBinary ? null : textOf(data)));
    ws.on('error', (err) => logger.debug({ err: err.message }, 'WebSocket error'));
    ws.on('close', () => {
      session.dispose();
      connections.delete(ws);
      metrics.connections.dec();
    });
    session.start(identity);
  };

  const handleUpgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Until ws takes over, a reset by the peer must not become an uncaught error.
    socket.on('error', () => socket.destroy());
    if (closing || !options.isAcceptingTraffic()) {
      refuseUpgrade(socket, 503, ErrorCodes.DependencyUnavailable, 'Shutting down; reconnect');
      return;
    }
    let url: URL | undefined;
    try {
      url = new URL(req.url ?? '/', 'http://notifier.invalid');
    } catch {
      url = undefined;
    }
    if (!url || !WS_PATHS.has(url.pathname)) {
      refuseUpgrade(socket, 404, ErrorCodes.NotFound, 'No such route');
      return;
    }
    const token = url.searchParams.get('token');
    let identity: Identity | undefined;
    if (token !== null) {
      // The gateway checked the token too, but an identity is only trusted once verified here.
      try {
        identity = await verifyToken(options.session.verifier, token);
      } catch (err) {
        if (err instanceof AppError) refuseUpgrade(socket, 401, ErrorCodes.Unauthenticated, err.message);
        else refuseUpgrade(socket, 503, ErrorCodes.DependencyUnavailable, 'Token keys unavailable; retry shortly');
        return;
      }
    }
    if (socket.destroyed || closing) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, identity));
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    handleUpgrade(req, socket, head).catch((err: unknown) => {
      logger.error({ err }, 'WebSocket upgrade failed');
      socket.destroy();
    });
  });

  // A socket that has not answered the previous ping by the next one is dead: gone within two intervals.
  const heartbeat = setInterval(() => {
    for (const [ws, connection] of connections) {
      if (!connection.alive) {
        ws.terminate();
        continue;
      }
      connection.alive = false;
      ws.ping();
    }
  }, options.heartbeatIntervalMs);
  heartbeat.unref();

  return {
    async close() {
      closing = true;
      clearInterval(heartbeat);
      const sockets = [...connections.keys()];
      const allClosed = Promise.all(
        sockets.map(
          (ws) =>
            new Promise<void>((resolve) =>
              ws.readyState === WebSocket.CLOSED ? resolve() : ws.once('close', () => resolve()),
            ),
        ),
      );
      for (const ws of sockets) ws.close(CloseCodes.goingAway, 'server shutting down');
      await Promise.race([allClosed, new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref())]);
      for (const ws of connections.keys()) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
