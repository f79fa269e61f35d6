import { ErrorCodes, clientMessageSchemas, parseJson, type ClientMessage, type ServerMessage } from '@zephyr/contracts';
import { AppError } from '@zephyr/runtime/errors';

export {
  ClientMessageTypes,
  ServerMessageTypes,
  type Channel,
  type ClientMessage,
  type ServerMessage,
} from '@zephyr/contracts';

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
  if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(clientMessageSchemas, type)) {
    throw invalid(`Unknown message type; expected one of ${Object.keys(clientMessageSchemas).join(', ')}`);
  }
  const { error, value } = clientMessageSchemas[type as ClientMessage['type']].validate(body);
  if (error) throw invalid(`Invalid ${type}: ${error.message.replace(/"/g, '')}`);
  return value as ClientMessage;
}

export const serialize = (message: ServerMessage): string => JSON.stringify(message);

/** Encoded once and written as-is to every socket of a channel (ws sends a Buffer without copying it). */
export const encode = (message: ServerMessage): Buffer => Buffer.from(JSON.stringify(message), 'utf8');
