import { RoutingKeys, type SeatEnvelope } from '@zephyr/contracts';
import { createRecentIds } from '@zephyr/runtime/batcher';
import { ServerMessageTypes, serialize, type Channel } from './protocol';
import { VersionTracker } from './version-tracker';

/** A connection as the hub sees it: something a pre-serialized update can be handed to. */
export interface Subscriber {
  /** Returns true when the update was sent (or queued for sending) to this subscriber. */
  deliverUpdate(channel: Channel, eventId: string, version: number, text: string): boolean;
}

export interface HubLimits {
  /** Envelope ids remembered for dedupe (delivery is at least once). */
  recentIds: number;
  /** Events whose per-seat versions are remembered at once. */
  trackedEvents: number;
}

const DEFAULT_LIMITS: HubLimits = { recentIds: 20_000, trackedEvents: 2_000 };

/** Ids are UUIDs; compare them case-insensitively. */
export const channelKey = (id: string): string => id.toLowerCase();

/**
 * Who listens to what on this replica, and the fan-out of seat changes to them. Each change is serialized
 * once per channel and the same string goes to every subscriber of that channel.
 */
export class SubscriptionHub<S extends Subscriber> {
  private readonly byEvent = new Map<string, Set<S>>();
  private readonly byUser = new Map<string, Set<S>>();
  private readonly connectionsByUser = new Map<string, Set<S>>();
  private readonly recent;
  private readonly versions;

  constructor(limits: HubLimits = DEFAULT_LIMITS) {
    this.recent = createRecentIds(limits.recentIds);
    this.versions = new VersionTracker(limits.trackedEvents);
  }

  subscribeEvent(subscriber: S, eventId: string): void {
    addTo(this.byEvent, eventId, subscriber);
  }

  unsubscribeEvent(subscriber: S, eventId: string): void {
    // Nobody watches the event on this replica any more: its version map is dead weight.
    if (removeFrom(this.byEvent, eventId, subscriber)) this.versions.forget(eventId);
  }

  subscribeUser(subscriber: S, userId: string): void {
    addTo(this.byUser, userId, subscriber);
  }

  unsubscribeUser(subscriber: S, userId: string): void {
    removeFrom(this.byUser, userId, subscriber);
  }

  /** Counts a user's connections; false when the user already has `limit` others. */
  claimConnection(subscriber: S, userId: string, limit: number): boolean {
    const current = this.connectionsByUser.get(userId);
    if (current && !current.has(subscriber) && current.size >= limit) return false;
    addTo(this.connectionsByUser, userId, subscriber);
    return true;
  }

  releaseConnection(subscriber: S, userId: string): void {
    removeFrom(this.connectionsByUser, userId, subscriber);
  }

  /** Pushes one seat change to its event channel and its user's channel; returns the number of messages sent. */
  publish(envelope: SeatEnvelope): number {
    // A refresh only moves expiresAt: not a seat change, nothing to push.
    if (envelope.type === RoutingKeys.SeatRefreshed) return 0;
    if (this.recent.has(envelope.id)) return 0;
    this.recent.add(envelope.id);

    const data = envelope.data;
    const eventId = channelKey(data.eventId);
    const userId = channelKey(data.userId);
    const eventSubscribers = this.byEvent.get(eventId);
    const userSubscribers = this.byUser.get(userId);
    if (!eventSubscribers && !userSubscribers) return 0;
    if (!this.versions.accept(eventId, data.seatNumber, data.version)) return 0;

    const update = {
      type: ServerMessageTypes.SeatUpdate,
      eventId: data.eventId,
      seatNumber: data.seatNumber,
      status: data.status,
      timestamp: envelope.occurredAt,
      version: data.version,
    };
    let sent = 0;
    if (eventSubscribers) {
      // Event channels are public: never a userId on them.
      const text = serialize({ ...update, channel: 'event' });
      for (const subscriber of eventSubscribers) {
        if (subscriber.deliverUpdate('event', eventId, data.version, text)) sent++;
      }
    }
    if (userSubscribers) {
      const text = serialize({ ...update, channel: 'user', userId: data.userId });
      for (const subscriber of userSubscribers) {
        if (subscriber.deliverUpdate('user', eventId, data.version, text)) sent++;
      }
    }
    return sent;
  }

  stats(): { events: number; users: number; trackedEvents: number } {
    return { events: this.byEvent.size, users: this.byUser.size, trackedEvents: this.versions.trackedEvents };
  }
}

function addTo<S>(index: Map<string, Set<S>>, key: string, subscriber: S): void {
  let set = index.get(key);
  if (!set) {
    set = new Set();
    index.set(key, set);
  }
  set.add(subscriber);
}

/** Returns true when the key lost its last subscriber. */
function removeFrom<S>(index: Map<string, Set<S>>, key: string, subscriber: S): boolean {
  const set = index.get(key);
  if (!set || !set.delete(subscriber)) return false;
  if (set.size > 0) return false;
  index.delete(key);
  return true;
}
