import Joi from 'joi';
import { ErrorCodes, uuidSchema, type ErrorCode, type Seat, type SeatStatus } from '@zephyr/contracts';
import { AppError, parseJson } from '@zephyr/runtime';

/**
 * The WebSocket protocol of SPEC.md §4. Only the notifier speaks it (the gateway proxies frames unchanged),
 * so its names live here rather than in packages/contracts.
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
  SeatMap: 'SEAT_MAP',
  Error: 'ERROR',
  Pong: 'PONG',
} as const;

export type Channel = 'event' | 'user';

export type ClientMessage =
  | { type: typeof ClientMessageTypes.Auth; token: string }
  | { type: typeof ClientMessageTypes.SubscribeEvent; eventId: string; snapshot?: boolean }
  | { type: typeof ClientMessageTypes.UnsubscribeEvent; eventId: string }
  | { type: typeof ClientMessageTypes.SubscribeUser; userId: string }
  | { type: typeof ClientMessageTypes.UnsubscribeUser; userId: string }
  | { type: typeof ClientMessageTypes.Ping };

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
  | { type: typeof ServerMessageTypes.SeatMap; eventId: string; version: number; seats: Seat[] }
  | { type: typeof ServerMessageTypes.Error; code: ErrorCode; message: string }
  | { type: typeof ServerMessageTypes.Pong };

const message = (shape: Record<string, Joi.Schema>) =>
  Joi.object(shape).options({ allowUnknown: false, convert: false, abortEarly: true }).required();

const schemasByType: Record<ClientMessage['type'], Joi.ObjectSchema> = {
  [ClientMessageTypes.Auth]: message({ type: Joi.string(), token: Joi.string().min(1).max(4096).required() }),
  [ClientMessageTypes.SubscribeEvent]: message({
    type: Joi.string(),
    eventId: uuidSchema.required(),
    snapshot: Joi.boolean(),
  }),
  [ClientMessageTypes.UnsubscribeEvent]: message({ type: Joi.string(), eventId: uuidSchema.required() }),
  [ClientMessageTypes.SubscribeUser]: message({ type: Joi.string(), userId: uuidSchema.required() }),
  [ClientMessageTypes.UnsubscribeUser]: message({ type: Joi.string(), userId: uuidSchema.required() }),
  [ClientMessageTypes.Ping]: message({ type: Joi.string() }),
};

function invalid(message: string): AppError {
  return new AppError(ErrorCodes.ValidationFailed, message);
}

/** A text frame's payload, or null for a binary frame (the protocol is JSON text only). */
export function parseClientMessage(text: string | null): ClientMessage {
  if (text === null) throw invalid('Binary frames are not supported; send JSON text');
  let body: unknown;
  try {
    body = parseJson(text);
  } catch {
    throw invalid('Malformed JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalid('A message must be a JSON object');
  const type = (body as { type?: unknown }).type;
  if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(schemasByType, type)) {
    throw invalid(`Unknown message type; expected one of ${Object.keys(schemasByType).join(', ')}`);
  }
  const { error, value } = schemasByType[type as ClientMessage['type']].validate(body);
  if (error) throw invalid(`Invalid ${type}: ${error.message.replace(/"/g, '')}`);
  return value as ClientMessage;
}

export const serialize = (message: ServerMessage): string => JSON.stringify(message);
