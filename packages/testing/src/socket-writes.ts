import type { Socket } from 'node:net';

/** The system-call-level writes of a socket from now on: one entry per `_write`/`_writev`, its chunk count. */
export function countSocketWrites(socket: Socket): { writes: number[] } {
  const stream = socket as Socket & Record<string, unknown>;
  const seen = { writes: [] as number[] };
  const writev = stream._writev as (chunks: unknown[], cb: () => void) => void;
  const write = stream._write as (chunk: unknown, enc: unknown, cb: () => void) => void;
  stream._writev = function (this: Socket, chunks: unknown[], cb: () => void) {
    seen.writes.push(chunks.length);
    return writev.call(this, chunks, cb);
  };
  stream._write = function (this: Socket, chunk: unknown, enc: unknown, cb: () => void) {
    seen.writes.push(1);
    return write.call(this, chunk, enc, cb);
  };
  return seen;
}
