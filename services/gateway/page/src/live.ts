import { ClientMessageTypes, ErrorCodes, PublicPaths, ServerMessageTypes, type ServerMessage } from './contracts.js';
import { sentenceFor } from './api.js';
import type { SeatChange } from './seat-state.js';
import type { Seat } from './contracts.js';

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'resyncing';

export interface LiveHandlers {
  state(state: LiveState): void;
  snapshot(version: number, seats: Seat[]): void;
  changes(changes: SeatChange[]): void;
  /** A refusal worth showing (a bad token, an unknown event). */
  problem(sentence: string): void;
  authenticated(userId: string): void;
}

const BACKOFF_BASE_MS = 250;
const BACKOFF_CAP_MS = 5000;
const PING_EVERY_MS = 20_000;
const PONG_WITHIN_MS = 10_000;

type Sent = { type: string; batch?: boolean };

/**
 * One event's live feed: subscribe with a snapshot (and batches when the server has them), AUTH and the
 * user's own channel when signed in, and reconnect with exponential backoff and jitter, re-reading the
 * snapshot each time so nothing missed while away stays missed.
 */
export class LiveFeed {
  private socket: WebSocket | undefined;
  private attempt = 0;
  private stopped = false;
  private batch = true;
  /** Each client message gets exactly one answer, in order, so answers are matched by position. */
  private awaiting: Sent[] = [];
  private pingTimer: number | undefined;
  private pongTimer: number | undefined;
  private retryTimer: number | undefined;

  constructor(
    private readonly eventId: string,
    private readonly token: string | undefined,
    private readonly handlers: LiveHandlers,
  ) {}

  start(): void {
    this.handlers.state('connecting');
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.retryTimer);
    this.clearHeartbeat();
    this.socket?.close(1000, 'page closed');
  }

  private connect(): void {
    const url = new URL(PublicPaths.webSocket, window.location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(url);
    this.socket = socket;
    this.awaiting = [];
    socket.addEventListener('open', () => {
      if (this.token) this.send({ type: ClientMessageTypes.Auth, token: this.token });
      this.subscribe();
      this.heartbeat();
    });
    socket.addEventListener('message', (e: MessageEvent<string>) => {
      let message: ServerMessage;
      try {
        message = JSON.parse(e.data) as ServerMessage;
      } catch {
        return;
      }
      this.receive(message);
    });
    socket.addEventListener('close', () => {
      if (this.socket !== socket) return;
      this.clearHeartbeat();
      if (this.stopped) return;
      this.handlers.state('reconnecting');
      // Exponential backoff with equal jitter, so many pages do not return all at once.
      const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** this.attempt);
      this.attempt++;
      this.retryTimer = window.setTimeout(() => this.connect(), ceiling / 2 + Math.random() * (ceiling / 2));
    });
  }

  private subscribe(): void {
    const message = { type: ClientMessageTypes.SubscribeEvent, eventId: this.eventId, snapshot: true };
    this.send(this.batch ? { ...message, batch: true } : message, { batch: this.batch });
  }

  private send(message: { type: string } & Record<string, unknown>, extra: Omit<Sent, 'type'> = {}): void {
    if (this.socket?.readyState !== WebSocket.OPEN) return;
    this.awaiting.push({ type: message.type, ...extra });
    this.socket.send(JSON.stringify(message));
  }

  private receive(message: ServerMessage): void {
    switch (message.type) {
      case ServerMessageTypes.SeatMap:
        this.attempt = 0;
        this.handlers.snapshot(message.version, message.seats);
        this.handlers.state('live');
        return;
      case ServerMessageTypes.Resync:
        // The server may have missed changes; its fresh SEAT_MAP follows on this socket, no resubscribe needed.
        if (message.eventId === this.eventId) this.handlers.state('resyncing');
        return;
      case ServerMessageTypes.SeatUpdate:
        if (message.eventId === this.eventId) this.handlers.changes([message]);
        return;
      case ServerMessageTypes.SeatUpdates:
        if (message.eventId === this.eventId) this.handlers.changes(message.updates);
        return;
      case ServerMessageTypes.Authenticated:
        this.awaiting.shift();
        this.send({ type: ClientMessageTypes.SubscribeUser, userId: message.userId });
        this.handlers.authenticated(message.userId);
        return;
      case ServerMessageTypes.Pong:
        window.clearTimeout(this.pongTimer);
        this.awaiting.shift();
        return;
      case ServerMessageTypes.Subscribed:
      case ServerMessageTypes.Unsubscribed:
        this.awaiting.shift();
        return;
      case ServerMessageTypes.Error: {
        const to = this.awaiting.shift();
        if (
          to?.type === ClientMessageTypes.SubscribeEvent &&
          to.batch &&
          message.code === ErrorCodes.ValidationFailed
        ) {
          // A server without batches: subscribe again for one SEAT_UPDATE per change.
          this.batch = false;
          this.subscribe();
          return;
        }
        const what =
          to?.type === ClientMessageTypes.Auth
            ? 'Live updates run without your sign-in: '
            : to?.type === ClientMessageTypes.SubscribeUser
              ? 'Your own seat updates are unavailable: '
              : '';
        this.handlers.problem(`${what}${sentenceFor(message.code, message.message)}`);
        return;
      }
    }
  }

  private heartbeat(): void {
    this.pingTimer = window.setInterval(() => {
      this.send({ type: ClientMessageTypes.Ping });
      window.clearTimeout(this.pongTimer);
      // No answer: the connection is dead even if the browser has not noticed; reconnect.
      this.pongTimer = window.setTimeout(() => this.socket?.close(4000, 'no pong'), PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  private clearHeartbeat(): void {
    window.clearInterval(this.pingTimer);
    window.clearTimeout(this.pongTimer);
  }
}
