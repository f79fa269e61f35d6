import type { Duplex } from 'node:stream';
import { ErrorCodes, errorBody } from '@zephyr/contracts';

/** Request line plus headers; Node's parser refuses more with HPE_HEADER_OVERFLOW. */
export const MAX_HEADER_BYTES = 16 * 1024;

const ANSWERS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'Request headers too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'Request not received in time'],
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
  const [status, reason, message] = ANSWERS[err.code ?? ''] ?? [400, 'Bad Request', 'Malformed HTTP request'];
  const body = JSON.stringify(errorBody(ErrorCodes.ValidationFailed, message));
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
