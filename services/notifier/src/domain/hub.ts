import { createRecentIds, RoutingKeys, type SeatEnvelope, type SeatUpdateItem } from '@zephyr/contracts';
import { FanoutQueue } from './fanout';
import { ServerMessageTypes, encode, type Channel } from './protocol';
import { VersionTracker } from './version-tracker';

/** A connection as the hub sees it: something a pre-encoded frame can be handed to. */
export interface Subscriber {
  /** A v1 SEAT_UPDATE; returns true when it was sent (or queued for sending) to this subscriber. */
  deliverUpdate(channel: Channel, eventId: string, version: number, frame: Buffer): boolean;
  /** A SEAT_UPDATES batch on an event channel. */
  deliverBatch(eventId: string, frame: Buffer): boolean;
  /** Changes may have been missed before they reached the hub: bring this subscriber's events up to date. */
  resync(): void;
}

export interface HubLimits {
  /** Envelope ids remembered for dedupe (delivery is at least once). */
  recentIds: number;
  /** Events whose per-seat versions are remembered at once. */
  trackedEvents: number;
  /** Least time between two SEAT_UPDATES to one subscription (SPEC.md §4: at most one per 100 ms). */
  batchIntervalMs: number;
  /** Socket writes per event-loop turn before yielding. */
  fanoutSlice: number;
}

export const DEFAULT_HUB_LIMITS: HubLimits = {
  recentIds: 20_000,
  trackedEvents: 2_000,
  batchIntervalMs: 100,
  fanoutSlice: 1_000,
};

/** Ids are UUIDs; compare them case-insensitively. */
export const channelKey = (id: string): string => id.toLowerCase();

/** A batch subscription's state between two flushes of its event. */
interface BatchMember {
  /** Items of the current tick before this index were already sent to it as v1 SEAT_UPDATEs (mode switch). */
  joinIndex: number;
  /** Set while its snapshot is read: items wait here, and only those newer than the map are sent. */
  held?: SeatUpdateItem[];
  /** Items to send with the next flush, ahead of that tick's own (released from `held`). */
  extras?: SeatUpdateItem[];
  /** Versions up to this one are in the snapshot the subscriber has; never sent again. */
  floor: number;
}

/** One event's batch subscribers and the changes waiting for the next tick. */
interface BatchChannel {
  eventId: string;
  members: Map<unknown, BatchMember>;
  pending: SeatUpdateItem[];
  timer?: NodeJS.Timeout;
  /** A flush is being written to sockets; the next one starts an interval after it finished. */
  writing: boolean;
  nextFlushAt: number;
}

/**
 * Who listens to what on this replica, and the fan-out of seat changes to them. A change is encoded once per
 * channel (and a batch once per event tick) and the same Buffer goes to every subscriber, through one
 * sliced FIFO so each socket gets its frames in order and the loop never stalls on a big fan-out.
 */
export class SubscriptionHub<S extends Subscriber> {
  private readonly byEvent = new Map<string, Set<S>>();
  private readonly batches = new Map<string, BatchChannel>();
  private readonly byUser = new Map<string, Set<S>>();
  private readonly connectionsByUser = new Map<string, Set<S>>();
  private readonly recent;
  private readonly versions;
  private readonly limits: HubLimits;
  private readonly fanout: FanoutQueue;

  constructor(
    limits: Partial<HubLimits> = {},
    /** Told how many frames each fan-out delivered (metrics). */
    private readonly onDelivered: (frames: number) => void = () => undefined,
  ) {
    this.limits = { ...DEFAULT_HUB_LIMITS, ...limits };
    this.recent = createRecentIds(this.limits.recentIds);
    this.versions = new VersionTracker(this.limits.trackedEvents);
    this.fanout = new FanoutQueue(this.limits.fanoutSlice);
  }

  /**
   * Subscribes to an event in v1 (one SEAT_UPDATE per change) or batch mode. Subscribing again in the other
   * mode switches it, with no change lost or sent twice. `holdForSnapshot` (batch only) keeps changes back
   * until releaseSnapshot().
   */
  subscribeEvent(subscriber: S, eventId: string, options: { batch?: boolean; holdForSnapshot?: boolean } = {}): void {
    if (options.batch) {
      removeFrom(this.byEvent, eventId, subscriber);
      let channel = this.batches.get(eventId);
      if (!channel) {
        channel = { eventId, members: new Map(), pending: [], writing: false, nextFlushAt: 0 };
        this.batches.set(eventId, channel);
      }
      const existing = channel.members.get(subscriber);
      if (existing) {
        if (options.holdForSnapshot) existing.held ??= [];
        return;
      }
      // Changes of this tick that came before the subscription went out as v1 (switch) or precede it (new).
      const member: BatchMember = { joinIndex: channel.pending.length, floor: -1 };
      if (options.holdForSnapshot) member.held = [];
      channel.members.set(subscriber, member);
      return;
    }
    const channel = this.batches.get(eventId);
    const member = channel?.members.get(subscriber);
    if (channel && member) {
      // Switching to v1: what the batch subscription has not received yet goes out as single updates first.
      this.leaveBatch(channel, subscriber);
      const owed = [...(member.extras ?? []), ...channel.pending.slice(member.joinIndex)].filter(
        (item) => item.version > member.floor,
      );
      for (const item of owed) {
        const frame = encode({
          type: ServerMessageTypes.SeatUpdate,
          channel: 'event',
          eventId: channel.eventId,
          ...item,
        });
        this.fanout.push({
          targets: [subscriber],
          deliver: (s) => s.deliverUpdate('event', eventId, item.version, frame),
        });
      }
    }
    addTo(this.byEvent, eventId, subscriber);
  }

  /** Ends a batch subscription's snapshot hold: only changes newer than the map's version are sent, next tick. */
  releaseSnapshot(subscriber: S, eventId: string, mapVersion: number): void {
    const channel = this.batches.get(eventId);
    const member = channel?.members.get(subscriber);
    if (!channel || !member?.held) return;
    member.floor = Math.max(member.floor, mapVersion);
    const newer = member.held.filter((item) => item.version > member.floor);
    member.held = undefined;
    if (newer.length === 0) return;
    member.extras = [...(member.extras ?? []), ...newer];
    this.scheduleFlush(channel);
  }

  unsubscribeEvent(subscriber: S, eventId: string): void {
    removeFrom(this.byEvent, eventId, subscriber);
    const channel = this.batches.get(eventId);
    if (channel) this.leaveBatch(channel, subscriber);
    // Nobody watches the event on this replica any more: its version map is dead weight.
    if (!this.byEvent.has(eventId) && !this.batches.has(eventId)) this.versions.forget(eventId);
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

  /**
   * Takes one seat change: queues it for its event's v1 subscribers, its event's next batch tick, and its
   * user's channel. Returns false when it was dropped (refresh, duplicate, stale version, nobody listening).
   */
  publish(envelope: SeatEnvelope): boolean {
    // A refresh only moves expiresAt: not a seat change, nothing to push.
    if (envelope.type === RoutingKeys.SeatRefreshed) return false;
    if (this.recent.has(envelope.id)) return false;
    this.recent.add(envelope.id);

    const data = envelope.data;
    const eventId = channelKey(data.eventId);
    const eventSubscribers = this.byEvent.get(eventId);
    const batch = this.batches.get(eventId);
    const userSubscribers = this.byUser.get(channelKey(data.userId));
    if (!eventSubscribers && !batch && !userSubscribers) return false;
    if (!this.versions.accept(eventId, data.seatNumber, data.version)) return false;

    // Event channels are public: never a userId on them.
    const item: SeatUpdateItem = {
      seatNumber: data.seatNumber,
      status: data.status,
      timestamp: envelope.occurredAt,
      version: data.version,
    };
    const update = { type: ServerMessageTypes.SeatUpdate, eventId: data.eventId, ...item };
    if (eventSubscribers) {
      const frame = encode({ ...update, channel: 'event' });
      this.fanout.push({
        targets: [...eventSubscribers],
        deliver: (s) => s.deliverUpdate('event', eventId, data.version, frame),
        done: this.onDelivered,
      });
    }
    if (batch) {
      batch.pending.push(item);
      this.scheduleFlush(batch);
    }
    if (userSubscribers) {
      const frame = encode({ ...update, channel: 'user', userId: data.userId });
      this.fanout.push({
        targets: [...userSubscribers],
        deliver: (s) => s.deliverUpdate('user', eventId, data.version, frame),
        done: this.onDelivered,
      });
    }
    return true;
  }

  /**
   * Changes may have been lost on their way to this replica (its queue was lost and rebuilt): every event
   * subscriber is told to resync, each at a random moment within `spreadMs`, so thousands of sockets do not
   * all ask for a seat map and take a map-sized write in the same instant. Returns how many were told.
   */
  resyncAll(spreadMs: number, random: () => number = Math.random): number {
    const everyone = new Set<S>();
    for (const subscribers of this.byEvent.values()) for (const s of subscribers) everyone.add(s);
    for (const channel of this.batches.values()) for (const key of channel.members.keys()) everyone.add(key as S);
    for (const subscriber of everyone) {
      setTimeout(() => subscriber.resync(), Math.floor(random() * spreadMs)).unref();
    }
    return everyone.size;
  }

  stats(): {
    events: number;
    batchEvents: number;
    users: number;
    trackedEvents: number;
    fanoutDepth: number;
    fanoutBacklog: number;
  } {
    return {
      events: this.byEvent.size,
      batchEvents: this.batches.size,
      users: this.byUser.size,
      trackedEvents: this.versions.trackedEvents,
      fanoutDepth: this.fanout.depth,
      fanoutBacklog: this.fanout.backlog,
    };
  }

  private leaveBatch(channel: BatchChannel, subscriber: S): void {
    if (!channel.members.delete(subscriber) || channel.members.size > 0) return;
    if (channel.timer) clearTimeout(channel.timer);
    this.batches.delete(channel.eventId);
  }

  private scheduleFlush(channel: BatchChannel): void {
    if (channel.timer || channel.writing) return;
    const delay = Math.max(0, channel.nextFlushAt - Date.now());
    channel.timer = setTimeout(() => this.flush(channel), delay);
  }

  /**
   * One tick of an event: its pending changes become one SEAT_UPDATES frame, encoded once and written to every
   * batch subscriber. The next tick starts no sooner than an interval after this one was fully written, so no
   * subscription gets two within the interval however long the fan-out takes.
   */
  private flush(channel: BatchChannel): void {
    channel.timer = undefined;
    if (this.batches.get(channel.eventId) !== channel) return;
    // Timers run on the event loop's cached clock and can fire a millisecond before Date.now() says the
    // interval is over; wait out the rest so no subscriber gets two ticks within the interval.
    const early = channel.nextFlushAt - Date.now();
    if (early > 0) {
      channel.timer = setTimeout(() => this.flush(channel), early);
      return;
    }
    const items = channel.pending;
    channel.pending = [];
    let minVersion = Infinity;
    for (const item of items) minVersion = Math.min(minVersion, item.version);
    const frameOf = (updates: SeatUpdateItem[]) =>
      encode({ type: ServerMessageTypes.SeatUpdates, channel: 'event', eventId: channel.eventId, updates });
    let shared: Buffer | undefined;
    const targets: [S, Buffer][] = [];
    for (const [key, member] of channel.members) {
      const subscriber = key as S;
      const own = member.joinIndex > 0 ? items.slice(member.joinIndex) : items;
      const custom = member.joinIndex > 0 || member.extras !== undefined || member.floor >= minVersion;
      member.joinIndex = 0;
      if (member.held) {
        member.held.push(...own);
        continue;
      }
      if (!custom) {
        if (items.length > 0) targets.push([subscriber, (shared ??= frameOf(items))]);
        continue;
      }
      // Rare (a mode switch, a snapshot just released): this subscriber gets its own frame.
      const updates = [...(member.extras ?? []), ...own.filter((item) => item.version > member.floor)];
      member.extras = undefined;
      if (updates.length > 0) targets.push([subscriber, frameOf(updates)]);
    }
    if (targets.length === 0) return;
    channel.writing = true;
    this.fanout.push({
      targets,
      deliver: ([subscriber, frame]) => subscriber.deliverBatch(channel.eventId, frame),
      done: (delivered) => {
        channel.writing = false;
        channel.nextFlushAt = Date.now() + this.limits.batchIntervalMs;
        this.onDelivered(delivered);
        const waiting = channel.pending.length > 0 || [...channel.members.values()].some((m) => m.extras);
        if (waiting && this.batches.get(channel.eventId) === channel) this.scheduleFlush(channel);
      },
    });
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

/** Returns true when the subscriber was there. */
function removeFrom<S>(index: Map<string, Set<S>>, key: string, subscriber: S): boolean {
  const set = index.get(key);
  if (!set || !set.delete(subscriber)) return false;
  if (set.size === 0) index.delete(key);
  return true;
}
