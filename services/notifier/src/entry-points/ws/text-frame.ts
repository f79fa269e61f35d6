import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/**
 * A fan-out writes the same payload to thousands of sockets. ws would build a frame header and issue a
 * two-buffer write per socket; instead the whole frame (RFC 6455 §5.2: FIN + text opcode, unmasked as a server
 * sends, then the length) is built once per payload and written as one buffer. Only valid because the server
 * negotiates no extension (no permessage-deflate), so a frame is exactly header + payload.
 */
export function textFrame(payload: Buffer): Buffer {
  const length = payload.length;
  const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x81;
  if (headerLength === 2) {
    frame[1] = length;
  } else if (headerLength === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  payload.copy(frame, headerLength);
  return frame;
}

/** Frames each payload once, however many sockets it goes to (the payload Buffer is the key). */
export function createFrameCache(): (payload: Buffer) => Buffer {
  const frames = new WeakMap<Buffer, Buffer>();
  return (payload) => {
    let frame = frames.get(payload);
    if (!frame) {
      frame = textFrame(payload);
      frames.set(payload, frame);
    }
    return frame;
  };
}

/**
 * Writes a prebuilt frame on the socket under `ws`. Safe while ws's sender holds nothing back, which is true
 * here: with no compression and no Blob payloads it writes every frame (pings included) as soon as it is sent,
 * so whole frames never interleave. Falls back to ws.send when the socket is not reachable.
 */
export function writeFrame(ws: WebSocket, payload: Buffer, frameOf: (payload: Buffer) => Buffer): void {
  const socket = (ws as unknown as { _socket?: Socket })._socket;
  if (socket && !socket.destroyed) socket.write(frameOf(payload));
  else ws.send(payload, { binary: false });
}
