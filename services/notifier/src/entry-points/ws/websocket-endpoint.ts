import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { ErrorCodes, type Identity } from '@zephyr/contracts';
import { AppError, createConnectionCap, writeRawError, type Logger } from '@zephyr/runtime';
import {
  ClientSession,
  verifyToken,
  type CloseReason,
  type SessionDeps,
  type Transport,
} from '../../domain/client-session';

/** WebSocket close codes (RFC 6455) for the session's reasons, and for our own shutdown. */
const CLOSE_CODES: Record<CloseReason | 'shutdown', number> = {
  shutdown: 1001,
  policy: 1008,
  overloaded: 1013,
};
import type { NotifierMetrics } from '../../metrics';
import { createFrameCache, writeFrame } from './text-frame';
import { PingRounds } from './ping-rounds';

/** Paths the gateway forwards upgrades on (SPEC.md §4). */
const WS_PATHS = new Set(['/', '/ws']);
/** Client messages are small JSON objects; anything bigger is refused by ws (close 1009). */
const MAX_PAYLOAD_BYTES = 4 * 1024;
/** Heartbeat pings go out a slice per tick (see the heartbeat below). */
const HEARTBEAT_TICK_MS = 100;
/** How long sockets get to finish the close handshake on shutdown before they are cut. */
const CLOSE_GRACE_MS = 1000;

export interface WebSocketEndpointOptions {
  server: Server;
  session: SessionDeps;
  metrics: NotifierMetrics;
  logger: Logger;
  heartbeatIntervalMs: number;
  maxBufferedBytes: number;
  /** WebSocket connections this replica accepts; more get 503 at the upgrade. */
  maxConnections: number;
  isAcceptingTraffic: () => boolean;
}

export interface WebSocketEndpoint {
  /** Refuses new upgrades and closes every socket with 1001. */
  close(): Promise<void>;
}

interface Connection {
  session: ClientSession;
  /** Answered the last ping (or has had none yet). */
  alive: boolean;
  /** When it was last pinged: a socket is judged only on a ping at least half an interval old. */
  pingedAt: number;
}

function textOf(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** Serves WebSocket clients on the HTTP server's upgrade event: auth, heartbeats, and the slow-client bound. */
export function attachWebSocketEndpoint(options: WebSocketEndpointOptions): WebSocketEndpoint {
  const { server, metrics, logger } = options;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_PAYLOAD_BYTES,
    clientTracking: false,
    // Fan-out writes prebuilt frames (text-frame.ts), which needs frames without extensions.
    perMessageDeflate: false,
  });
  const connections = new Map<WebSocket, Connection>();
  const cap = createConnectionCap(options.maxConnections);
  const frameOf = createFrameCache();
  let closing = false;

  const transportFor = (ws: WebSocket): Transport => ({
    send(frame) {
      if (ws.readyState !== WebSocket.OPEN) return false;
      // Never buffer without bound for a client that does not read: cut it and let it reconnect.
      if (ws.bufferedAmount > options.maxBufferedBytes) {
        metrics.slowDisconnects.inc();
        logger.warn({ bufferedAmount: ws.bufferedAmount }, 'slow WebSocket client disconnected');
        ws.terminate();
        return false;
      }
      // A Buffer was encoded once per change or tick for many sockets: its frame is built once too.
      if (typeof frame === 'string') ws.send(frame);
      else writeFrame(ws, frame, frameOf);
      return true;
    },
    close(reason, message) {
      ws.close(CLOSE_CODES[reason], message);
    },
  });

  const onConnection = (ws: WebSocket, identity: Identity | undefined, release: () => void) => {
    const session = new ClientSession(transportFor(ws), options.session);
    const connection: Connection = { session, alive: true, pingedAt: 0 };
    connections.set(ws, connection);
    metrics.connections.inc();
    ws.on('pong', () => {
      connection.alive = true;
    });
    ws.on('message', (data, isBinary) => session.enqueue(isBinary ? null : textOf(data)));
    ws.on('error', (err) => logger.debug({ err: err.message }, 'WebSocket error'));
    ws.on('close', () => {
      release();
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
      writeRawError(socket, ErrorCodes.DependencyUnavailable, 'Shutting down; reconnect');
      return;
    }
    let url: URL | undefined;
    try {
      url = new URL(req.url ?? '/', 'http://notifier.invalid');
    } catch {
      url = undefined;
    }
    if (!url || !WS_PATHS.has(url.pathname)) {
      writeRawError(socket, ErrorCodes.NotFound, 'No such route');
      return;
    }
    // Buyers before watchers: past the cap a client is told to come back (or go to another replica).
    const release = cap.claim();
    if (!release) {
      metrics.refusedConnections.inc();
      writeRawError(socket, ErrorCodes.DependencyUnavailable, 'Too many WebSocket connections; retry shortly', {
        'Retry-After': 1,
      });
      return;
    }
    let handedOver = false;
    try {
      handedOver = await upgrade(req, socket, head, url, release);
    } finally {
      if (!handedOver) release();
    }
  };

  /** Returns true once ws owns the socket (and with it the slot, given back on close). */
  const upgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL, release: () => void) => {
    const token = url.searchParams.get('token');
    let identity: Identity | undefined;
    if (token !== null) {
      // The gateway checked the token too, but an identity is only trusted once verified here.
      try {
        identity = await verifyToken(options.session.verifier, token);
      } catch (err) {
        if (err instanceof AppError) writeRawError(socket, ErrorCodes.Unauthenticated, err.message);
        else writeRawError(socket, ErrorCodes.DependencyUnavailable, 'Token keys unavailable; retry shortly');
        return false;
      }
    }
    if (socket.destroyed || closing) {
      socket.destroy();
      return false;
    }
    // ws may refuse a malformed handshake without calling back: the slot comes back when the socket closes.
    socket.once('close', release);
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, identity, release));
    return true;
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    handleUpgrade(req, socket, head).catch((err: unknown) => {
      logger.error({ err }, 'WebSocket upgrade failed');
      socket.destroy();
    });
  });

  // A socket that has not answered the previous ping by the next one is dead: gone within two intervals.
  // Each interval pings every socket once, a slice per tick: pinging 10,000 sockets in one loop turn is
  // ~200 ms of writes that a seat change's fan-out would wait behind. When a tick itself comes late, the
  // loop was stalled and the pongs may still sit unread in the kernel (timers run before the poll): cutting
  // then would drop sockets that are alive, so that tick only pings.
  const tickMs = Math.min(HEARTBEAT_TICK_MS, options.heartbeatIntervalMs);
  const rounds = new PingRounds(Math.max(1, Math.floor(options.heartbeatIntervalMs / tickMs)), () =>
    connections.keys(),
  );
  let lastTick = Date.now();
  const heartbeat = setInterval(() => {
    const now = Date.now();
    const lateMs = now - lastTick - tickMs;
    const stalled = lateMs > options.heartbeatIntervalMs / 2;
    lastTick = now;
    if (stalled) logger.warn({ lateMs }, 'heartbeat ran late; no peer is cut this tick');
    for (const ws of rounds.next()) {
      const connection = connections.get(ws);
      if (!connection) continue; // closed since the round began
      // Sockets that closed before it moved this one's slot forward: its last ping is too recent to judge.
      if (now - connection.pingedAt < options.heartbeatIntervalMs / 2) continue;
      if (!connection.alive && !stalled) {
        ws.terminate();
        continue;
      }
      connection.alive = false;
      connection.pingedAt = now;
      ws.ping();
    }
  }, tickMs);
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
      for (const ws of sockets) ws.close(CLOSE_CODES.shutdown, 'server shutting down');
      await Promise.race([allClosed, new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref())]);
      for (const ws of connections.keys()) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
