import Joi from 'joi';
import type { ErrorCode } from '../http/errors';
import { uuidSchema } from '../http/schemas';
import type { Seat, SeatStatus } from '../http/types';

/**
 * The WebSocket protocol of SPEC.md §4: message names, shapes and the client messages' schemas. The
 * notifier speaks it; the seat-map page and the AsyncAPI document read it from here.
 */
export const ClientMessageTypes = {
  Auth: 'AUTH',
  SubscribeEvent: 'SUBSCRIBE_EVENT',
  UnsubscribeEvent: 'UNSUBSCRIBE_EVENT',
  SubscribeUser: 'SUBSCRIBE_USER',
  UnsubscribeUser: 'UNSUBSCRIBE_USER',
  Ping: 'PING',
} as const;

export const ServerMessageTypes = {
  Authenticated: 'AUTHENTICATED',
  Subscribed: 'SUBSCRIBED',
  Unsubscribed: 'UNSUBSCRIBED',
  SeatUpdate: 'SEAT_UPDATE',
  SeatUpdates: 'SEAT_UPDATES',
  SeatMap: 'SEAT_MAP',
  Resync: 'RESYNC',
  Error: 'ERROR',
  Pong: 'PONG',
} as const;

export type Channel = 'event' | 'user';

export type ClientMessage =
  | { type: typeof ClientMessageTypes.Auth; token: string }
  | { type: typeof ClientMessageTypes.SubscribeEvent; eventId: string; snapshot?: boolean; batch?: boolean }
  | { type: typeof ClientMessageTypes.UnsubscribeEvent; eventId: string }
  | { type: typeof ClientMessageTypes.SubscribeUser; userId: string }
  | { type: typeof ClientMessageTypes.UnsubscribeUser; userId: string }
  | { type: typeof ClientMessageTypes.Ping };

/** One change inside a SEAT_UPDATES batch (SPEC.md §4): per seat in version order. */
export interface SeatUpdateItem {
  seatNumber: number;
  status: SeatStatus;
  timestamp: string;
  version: number;
  userId?: string;
}

export type ServerMessage =
  | { type: typeof ServerMessageTypes.Authenticated; userId: string }
  | {
      type: typeof ServerMessageTypes.Subscribed | typeof ServerMessageTypes.Unsubscribed;
      channel: Channel;
      id: string;
    }
  | {
      type: typeof ServerMessageTypes.SeatUpdate;
      channel: Channel;
      eventId: string;
      seatNumber: number;
      status: SeatStatus;
      timestamp: string;
      version: number;
      userId?: string;
    }
  | {
      type: typeof ServerMessageTypes.SeatUpdates;
      channel: Channel;
      eventId: string;
      updates: SeatUpdateItem[];
    }
  | { type: typeof ServerMessageTypes.SeatMap; eventId: string; version: number; seats: Seat[] }
  /**
   * Changes of this event may have been missed on the server (its feed was lost and rebuilt); a fresh SEAT_MAP
   * follows on the same socket. Only on subscriptions made with `snapshot: true`.
   */
  | { type: typeof ServerMessageTypes.Resync; eventId: string }
  | { type: typeof ServerMessageTypes.Error; code: ErrorCode; message: string }
  | { type: typeof ServerMessageTypes.Pong };

const message = (shape: Record<string, Joi.Schema>) =>
  Joi.object(shape).options({ allowUnknown: false, convert: false, abortEarly: true }).required();

export const clientMessageSchemas: Record<ClientMessage['type'], Joi.ObjectSchema> = {
  [ClientMessageTypes.Auth]: message({ type: Joi.string(), token: Joi.string().min(1).max(4096).required() }),
  [ClientMessageTypes.SubscribeEvent]: message({
    type: Joi.string(),
    eventId: uuidSchema.required(),
    snapshot: Joi.boolean(),
    batch: Joi.boolean(),
  }),
  [ClientMessageTypes.UnsubscribeEvent]: message({ type: Joi.string(), eventId: uuidSchema.required() }),
  [ClientMessageTypes.SubscribeUser]: message({ type: Joi.string(), userId: uuidSchema.required() }),
  [ClientMessageTypes.UnsubscribeUser]: message({ type: Joi.string(), userId: uuidSchema.required() }),
  [ClientMessageTypes.Ping]: message({ type: Joi.string() }),
};
