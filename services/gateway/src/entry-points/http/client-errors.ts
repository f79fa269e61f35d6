import type { Duplex } from 'node:stream';
import { ErrorCodes, type ErrorCode } from '@zephyr/contracts';
import { writeRawError } from '@zephyr/runtime/upgrade';

/** Request line plus headers; Node's parser refuses more with HPE_HEADER_OVERFLOW. */
export const MAX_HEADER_BYTES = 16 * 1024;

/** Node's parser error → the contract's code (its status comes from the contracts' table). */
const ANSWERS: Record<string, [ErrorCode, string]> = {
  HPE_HEADER_OVERFLOW: [ErrorCodes.HeadersTooLarge, 'Request headers too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [ErrorCodes.RequestTimeout, 'Request not received in time'],
};

/**
 * Requests Node's HTTP parser refused before express saw them (malformed framing, CR/LF or NUL in a
 * header, oversized headers, headers or body too slow): one JSON error, then the connection closes.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const [code, message] = ANSWERS[err.code ?? ''] ?? [ErrorCodes.ValidationFailed, 'Malformed HTTP request'];
  writeRawError(socket, code, message);
}
