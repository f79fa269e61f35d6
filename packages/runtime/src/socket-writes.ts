import type { Socket } from 'node:net';

/**
 * Makes the writes issued to `socket` before `scheduleFlush` fires leave in one system call: the socket is
 * corked at the first write and uncorked by the scheduled flush. Each write used to be its own system call,
 * and on loopback a send also runs the receiver's TCP path, so it was among the largest costs of a busy
 * service (docs/performance.md). Order is kept; nothing waits past the scheduled flush.
 */
export function coalesceSocketWrites(socket: Socket, scheduleFlush: (flush: () => void) => void): void {
  const write = socket.write;
  let corked = false;
  const flush = () => {
    corked = false;
    socket.uncork();
  };
  socket.write = function (this: Socket, ...args: unknown[]) {
    if (!corked) {
      corked = true;
      socket.cork();
      scheduleFlush(flush);
    }
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as Socket['write'];
}
