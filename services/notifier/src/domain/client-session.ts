import { ErrorCodes, type Identity, type Seat, type SeatMap } from '@zephyr/contracts';
import { AppError, DependencyUnavailableError, isDependencyFailure } from '@zephyr/runtime/errors';
import type { EventDirectory } from './event-directory';
import { channelKey, type Subscriber, type SubscriptionHub } from './hub';
import {
  ClientMessageTypes,
  ServerMessageTypes,
  parseClientMessage,
  serialize,
  type Channel,
  type ClientMessage,
  type ServerMessage,
} from './protocol';

/** What a session needs from the socket underneath; the transport applies the slow-client policy. */
export interface Transport {
  /** Returns false when the frame was not sent (socket closing, or dropped as too slow). A Buffer goes out as text. */
  send(frame: string | Buffer): boolean;
  /** Ends the connection; the transport turns the reason into its protocol's close code. */
  close(reason: CloseReason, message: string): void;
}

/** Why the session ends a connection: it broke a rule, or the server cannot keep up with it right now. */
export type CloseReason = 'policy' | 'overloaded';

export const SessionLimits = {
  eventSubscriptions: 100,
  connectionsPerUser: 20,
  /** Client messages waiting behind a slow one (e.g. a subscribe waiting on the seat-service). */
  pendingMessages: 256,
  /** Updates held back while a snapshot is read; far more than one event changes in a read timeout. */
  heldUpdates: 10_000,
  /**
   * Per socket, token buckets (a burst, then a rate per second) for what costs a seat-service call: every
   * snapshot takes a token; a subscribe to an event that does not exist takes one when the answer comes,
   * and with none left a subscribe to an event this replica has not seen is refused without a call. Past
   * either: ERROR RATE_LIMITED. Subscribes to existing events (a page following many) are never limited.
   */
  lookupBurst: 20,
  lookupsPerSecond: 5,
  /** A resync whose map could not be read tries again after about this long (jittered). */
  resyncRetryMs: 2000,
} as const;

/** A token bucket: `capacity` at once, refilled continuously at `perSecond`. */
export function createTokenBucket(capacity: number, perSecond: number, now: () => number = Date.now) {
  let tokens = capacity;
  let at = now();
  const refill = () => {
    const t = now();
    tokens = Math.min(capacity, tokens + ((t - at) / 1000) * perSecond);
    at = t;
  };
  return {
    /** Takes a token if there is one. */
    take(): boolean {
      refill();
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
    /** True when a token is there, without taking it. */
    has(): boolean {
      refill();
      return tokens >= 1;
    },
    /** Takes a token even if that leaves the bucket in debt (a cost learnt after the fact). */
    charge(): void {
      refill();
      tokens -= 1;
    },
  };
}

/** Longest setTimeout Node accepts; a later token expiry is re-armed when this fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;
export interface SessionDeps {
  hub: SubscriptionHub<ClientSession>;
  verifier: TokenVerifier;
  events: EventDirectory;
  logger: SessionLog;
}

/** Checks a bearer token and names its holder; an invalid token is an UNAUTHENTICATED AppError. */
export interface TokenVerifier {
  verify(token: string): Promise<Identity>;
}

/** Where a session reports what it cannot tell its client (the service's pino logger fits). */
export interface SessionLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Verifies a token; an invalid one is UNAUTHENTICATED, an unreachable JWKS a dependency failure. */
export async function verifyToken(verifier: TokenVerifier, token: string): Promise<Identity> {
  try {
    return await verifier.verify(token);
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new DependencyUnavailableError(`token keys unavailable: ${(err as Error).message}`);
  }
}

/** The event channel is public: a snapshot carries no user identities. */
function publicSeat(seat: Seat): Seat {
  const result: Seat = { eventId: seat.eventId, seatNumber: seat.seatNumber, status: seat.status };
  if (seat.heldAt !== undefined) result.heldAt = seat.heldAt;
  if (seat.expiresAt !== undefined) result.expiresAt = seat.expiresAt;
  if (seat.reservedAt !== undefined) result.reservedAt = seat.reservedAt;
  return result;
}

interface HeldUpdate {
  version: number;
  frame: Buffer;
}

/**
 * One client connection: its identity, its subscriptions, and its messages, handled strictly in order
 * (each waits for the previous one, including its seat-service call).
 */
export class ClientSession implements Subscriber {
  private identity: Identity | undefined;
  private readonly events = new Set<string>();
  private readonly users = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private closed = false;
  private closing = false;
  /** While a snapshot is read, that event's updates wait here so none lands before SUBSCRIBED/SEAT_MAP. */
  private gate: { eventId: string; held: HeldUpdate[] } | undefined;
  /** Per event, the version of the last snapshot sent: a v1 update not newer than it is already in the map. */
  private readonly floors = new Map<string, number>();
  /** Events subscribed with `snapshot: true` (the opt-in to RESYNC), by key: the id as the client spelt it. */
  private readonly snapshotEvents = new Map<string, { eventId: string; batch: boolean }>();
  private readonly snapshots = createTokenBucket(SessionLimits.lookupBurst, SessionLimits.lookupsPerSecond);
  private readonly misses = createTokenBucket(SessionLimits.lookupBurst, SessionLimits.lookupsPerSecond);
  private expiryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly transport: Transport,
    private readonly deps: SessionDeps,
  ) {}

  private get active(): boolean {
    return !this.closed && !this.closing;
  }

  get userId(): string | undefined {
    return this.identity?.userId;
  }

  /** Adopts an identity verified at the upgrade; false (and the connection closes) when over the per-user cap. */
  start(identity: Identity | undefined): boolean {
    return identity === undefined || this.adopt(identity);
  }

  enqueue(text: string | null): void {
    if (!this.active) return;
    if (this.pending >= SessionLimits.pendingMessages) {
      this.close('policy', 'too many messages in flight');
      return;
    }
    this.pending++;
    this.chain = this.chain
      .then(() => this.handle(text))
      .finally(() => {
        this.pending--;
      });
  }

  deliverUpdate(channel: Channel, eventId: string, version: number, frame: Buffer): boolean {
    if (!this.active) return false;
    if (channel === 'event') {
      // Fan-out is sliced: a frame queued before an UNSUBSCRIBE_EVENT must not arrive after UNSUBSCRIBED.
      if (!this.events.has(eventId)) return false;
      if (this.gate?.eventId === eventId) {
        if (this.gate.held.length >= SessionLimits.heldUpdates) {
          this.close('overloaded', 'too many updates while reading the seat map');
          return false;
        }
        this.gate.held.push({ version, frame });
        return true;
      }
      if (version <= (this.floors.get(eventId) ?? -1)) return false;
    }
    return this.transport.send(frame);
  }

  deliverBatch(eventId: string, frame: Buffer): boolean {
    if (!this.active || !this.events.has(eventId)) return false;
    return this.transport.send(frame);
  }

  /**
   * Changes may have been missed upstream: each event followed with a snapshot gets RESYNC and a fresh map,
   * in the message chain so it never lands inside a client's subscribe or unsubscribe. Plain subscriptions
   * (v1) are left as they are: they never asked for maps.
   */
  resync(): void {
    if (!this.active) return;
    for (const key of this.snapshotEvents.keys()) this.chain = this.chain.then(() => this.resyncEvent(key));
  }

  /** Called once the socket is gone: forget every subscription. */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.gate = undefined;
    clearTimeout(this.expiryTimer);
    const { hub } = this.deps;
    for (const eventId of this.events) hub.unsubscribeEvent(this, eventId);
    for (const userId of this.users) hub.unsubscribeUser(this, userId);
    this.events.clear();
    this.users.clear();
    if (this.identity) hub.releaseConnection(this, this.identity.userId);
  }

  private async handle(text: string | null): Promise<void> {
    if (!this.active) return;
    try {
      await this.dispatch(parseClientMessage(text));
    } catch (err) {
      this.fail(err);
    }
  }

  private async dispatch(message: ClientMessage): Promise<void> {
    switch (message.type) {
      case ClientMessageTypes.Ping:
        this.send({ type: ServerMessageTypes.Pong });
        return;
      case ClientMessageTypes.Auth: {
        const identity = await verifyToken(this.deps.verifier, message.token);
        if (!this.active || !this.adopt(identity)) return;
        this.send({ type: ServerMessageTypes.Authenticated, userId: identity.userId });
        return;
      }
      case ClientMessageTypes.SubscribeEvent:
        await this.subscribeEvent(message.eventId, message.snapshot === true, message.batch === true);
        return;
      case ClientMessageTypes.UnsubscribeEvent: {
        const key = channelKey(message.eventId);
        this.removeEvent(key);
        this.send({ type: ServerMessageTypes.Unsubscribed, channel: 'event', id: message.eventId });
        return;
      }
      case ClientMessageTypes.SubscribeUser: {
        const key = channelKey(message.userId);
        this.authorizeUserChannel(key);
        if (!this.users.has(key)) {
          this.users.add(key);
          this.deps.hub.subscribeUser(this, key);
        }
        this.send({ type: ServerMessageTypes.Subscribed, channel: 'user', id: message.userId });
        return;
      }
      case ClientMessageTypes.UnsubscribeUser: {
        const key = channelKey(message.userId);
        if (this.users.delete(key)) this.deps.hub.unsubscribeUser(this, key);
        this.send({ type: ServerMessageTypes.Unsubscribed, channel: 'user', id: message.userId });
        return;
      }
    }
  }

  private async subscribeEvent(eventId: string, snapshot: boolean, batch: boolean): Promise<void> {
    const key = channelKey(eventId);
    const already = this.events.has(key);
    if (!already && this.events.size >= SessionLimits.eventSubscriptions) {
      throw new AppError(
        ErrorCodes.ValidationFailed,
        `At most ${SessionLimits.eventSubscriptions} event subscriptions per connection`,
      );
    }
    const limited = snapshot ? !this.snapshots.take() : !this.deps.events.isKnown(key) && !this.misses.has();
    if (limited) {
      throw new AppError(
        ErrorCodes.RateLimited,
        snapshot
          ? `At most ${SessionLimits.lookupsPerSecond} snapshots per second per connection`
          : `Too many subscribes to unknown events: at most ${SessionLimits.lookupsPerSecond} per second per connection`,
      );
    }
    if (!snapshot) {
      await this.deps.events.ensureExists(key).catch((err: unknown) => {
        if (err instanceof AppError && err.code === ErrorCodes.EventNotFound) this.misses.charge();
        throw err;
      });
      if (!this.active) return;
      this.addEvent(key, batch);
      this.snapshotEvents.delete(key);
      this.send({ type: ServerMessageTypes.Subscribed, channel: 'event', id: eventId });
      return;
    }
    const announce: ServerMessage = { type: ServerMessageTypes.Subscribed, channel: 'event', id: eventId };
    if (await this.followWithSnapshot(key, batch, already, announce)) {
      this.snapshotEvents.set(key, { eventId, batch });
    }
  }

  /** Sends RESYNC and a fresh map for one event; a failed read keeps the subscription and tries again later. */
  private async resyncEvent(key: string): Promise<void> {
    const followed = this.snapshotEvents.get(key);
    if (!this.active || !followed) return;
    const announce: ServerMessage = { type: ServerMessageTypes.Resync, eventId: followed.eventId };
    try {
      await this.followWithSnapshot(key, followed.batch, true, announce);
    } catch (err) {
      this.deps.logger.warn({ eventId: followed.eventId, err: (err as Error).message }, 'resync failed; retrying');
      const retryIn = SessionLimits.resyncRetryMs * (0.5 + Math.random());
      setTimeout(() => {
        if (this.snapshotEvents.get(key) === followed) this.chain = this.chain.then(() => this.resyncEvent(key));
      }, retryIn).unref();
    }
  }

  /**
   * Subscribes (or keeps the subscription) and sends `announce` then the seat map, with no gap and nothing
   * older than the map after it. Returns false when the socket went away meanwhile.
   */
  private async followWithSnapshot(
    key: string,
    batch: boolean,
    already: boolean,
    announce: ServerMessage,
  ): Promise<boolean> {
    if (batch) return this.followBatchWithSnapshot(key, already, announce);
    // Subscribe before reading the map so no change made between the read and the subscription is lost;
    // changes arriving meanwhile are held and only those newer than the map are sent after it.
    const gate = { eventId: key, held: [] as HeldUpdate[] };
    this.gate = gate;
    this.addEvent(key, false);
    let map: SeatMap;
    try {
      map = await this.deps.events.snapshot(key);
    } catch (err) {
      if (already) this.releaseGate(gate, -1);
      else {
        this.gate = undefined;
        this.removeEvent(key);
      }
      throw err;
    }
    if (!this.active) return false;
    this.sendSnapshot(announce, map);
    this.floors.set(key, map.version);
    this.releaseGate(gate, map.version);
    return true;
  }

  /**
   * Batch mode with a snapshot: the hub holds this subscription's changes while the map is read, then sends
   * only those newer than the map in its next tick, so there is no gap and nothing older than the map.
   */
  private async followBatchWithSnapshot(key: string, already: boolean, announce: ServerMessage): Promise<boolean> {
    const { hub } = this.deps;
    this.events.add(key);
    hub.subscribeEvent(this, key, { batch: true, holdForSnapshot: true });
    let map: SeatMap;
    try {
      map = await this.deps.events.snapshot(key);
    } catch (err) {
      if (already) hub.releaseSnapshot(this, key, -1);
      else this.removeEvent(key);
      throw err;
    }
    if (!this.active) return false;
    this.sendSnapshot(announce, map);
    hub.releaseSnapshot(this, key, map.version);
    return true;
  }

  private sendSnapshot(announce: ServerMessage, map: SeatMap): void {
    this.send(announce);
    this.send({
      type: ServerMessageTypes.SeatMap,
      eventId: map.eventId,
      version: map.version,
      seats: map.seats.map(publicSeat),
    });
  }

  private releaseGate(gate: { held: HeldUpdate[] }, mapVersion: number): void {
    this.gate = undefined;
    for (const update of gate.held) {
      if (update.version > mapVersion) this.transport.send(update.frame);
    }
  }

  /** Subscribes, or switches an existing subscription's mode (the hub sends what the old mode still owed). */
  private addEvent(key: string, batch: boolean): void {
    this.events.add(key);
    this.deps.hub.subscribeEvent(this, key, { batch });
  }

  private removeEvent(key: string): void {
    this.floors.delete(key);
    this.snapshotEvents.delete(key);
    if (this.events.delete(key)) this.deps.hub.unsubscribeEvent(this, key);
  }

  private authorizeUserChannel(userId: string): void {
    if (!this.identity) throw new AppError(ErrorCodes.Unauthenticated, 'Authenticate first (AUTH message or ?token=)');
    if (!this.identity.isAdmin && this.identity.userId !== userId) {
      throw new AppError(ErrorCodes.Forbidden, 'Only your own user channel can be subscribed');
    }
  }

  /** Returns false when the user is over the connection cap: ERROR sent, connection closing. */
  private adopt(identity: Identity): boolean {
    if (this.identity && this.identity.userId !== identity.userId) {
      throw new AppError(ErrorCodes.Forbidden, 'This connection is already authenticated as another user');
    }
    if (!this.identity && !this.deps.hub.claimConnection(this, identity.userId, SessionLimits.connectionsPerUser)) {
      this.send({
        type: ServerMessageTypes.Error,
        code: ErrorCodes.RateLimited,
        message: `At most ${SessionLimits.connectionsPerUser} connections per user`,
      });
      this.close('policy', 'too many connections for this user');
      return false;
    }
    this.identity = identity;
    this.armExpiry(identity.expiresAtMs);
    // A token without the admin role keeps only the user's own channel.
    if (!identity.isAdmin) {
      for (const userId of [...this.users]) {
        if (userId !== identity.userId && this.users.delete(userId)) this.deps.hub.unsubscribeUser(this, userId);
      }
    }
    return true;
  }

  /**
   * When the token expires the connection stops being authenticated: its user channels end and it gets
   * ERROR UNAUTHENTICATED (event channels are public and stay). A fresh AUTH restores it, and an AUTH with a
   * newer token before then simply moves the deadline. Runs in the message chain, so it never lands in the
   * middle of an AUTH or a SUBSCRIBE_USER.
   */
  private armExpiry(expiresAtMs: number | undefined): void {
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    if (expiresAtMs === undefined) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, expiresAtMs - Date.now()));
    this.expiryTimer = setTimeout(() => {
      this.chain = this.chain.then(() => this.expireIfDue());
    }, delay);
    this.expiryTimer.unref?.();
  }

  private expireIfDue(): void {
    const identity = this.identity;
    if (!this.active || identity?.expiresAtMs === undefined) return;
    if (identity.expiresAtMs > Date.now()) {
      this.armExpiry(identity.expiresAtMs);
      return;
    }
    const { hub } = this.deps;
    for (const userId of this.users) hub.unsubscribeUser(this, userId);
    this.users.clear();
    hub.releaseConnection(this, identity.userId);
    this.identity = undefined;
    this.send({
      type: ServerMessageTypes.Error,
      code: ErrorCodes.Unauthenticated,
      message: 'Token expired: user channels ended. Send AUTH with a fresh token to subscribe again.',
    });
  }

  /** Stops handling messages at once; dispose() runs when the socket has actually closed. */
  private close(reason: CloseReason, message: string): void {
    this.closing = true;
    this.transport.close(reason, message);
  }

  private send(message: ServerMessage): void {
    this.transport.send(serialize(message));
  }

  private fail(err: unknown): void {
    if (err instanceof AppError) {
      this.send({ type: ServerMessageTypes.Error, code: err.code, message: err.message });
    } else if (isDependencyFailure(err)) {
      this.deps.logger.warn({ err: (err as Error).message }, 'dependency unavailable');
      this.send({
        type: ServerMessageTypes.Error,
        code: ErrorCodes.DependencyUnavailable,
        message: 'A backing service is unavailable. Retry shortly.',
      });
    } else {
      this.deps.logger.error({ err }, 'unhandled WebSocket message error');
      this.send({ type: ServerMessageTypes.Error, code: ErrorCodes.Internal, message: 'Internal error' });
    }
  }
}
