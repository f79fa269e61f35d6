import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { HTTP_STATUS_BY_CODE, errorBody, type ErrorCode } from '@zephyr/contracts';

/**
 * The one writer of an error on a raw socket, for every answer express does not send (WebSocket upgrade
 * refusals, requests Node's parser refused): a plain HTTP error, then the socket closes. The status comes
 * from the contracts' code→status table like every other error; the body is the usual JSON error.
 */
export function writeRawError(
  socket: Duplex,
  code: ErrorCode,
  message: string,
  headers: Record<string, string | number> = {},
): void {
  if (socket.destroyed) return;
  const status = HTTP_STATUS_BY_CODE[code];
  const body = JSON.stringify(errorBody(code, message));
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      `Connection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `${extra}\r\n${body}`,
  );
}

/**
 * Counts WebSocket connections against a per-process cap so watchers cannot take the file descriptors and
 * CPU that buyers' REST calls need. A slot is taken at the upgrade (before any async check) and given back
 * exactly once.
 */
export function createConnectionCap(max: number) {
  let open = 0;
  return {
    /** Returns a release function, or undefined when the cap is reached. */
    claim(): (() => void) | undefined {
      if (open >= max) return undefined;
      open++;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        open--;
      };
    },
    get open(): number {
      return open;
    },
  };
}

export type ConnectionCap = ReturnType<typeof createConnectionCap>;
