import type { ClientRequest, IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import { ErrorCodes, MAX_BODY_BYTES } from '@zephyr/contracts';
import { AppError } from '@zephyr/runtime';

const bodies = new WeakMap<IncomingMessage, Buffer>();
/** After a 413, how much more of the upload is read and dropped, and for how long, before the socket is cut. */
const DRAIN_LIMIT_BYTES = 1024 * 1024;
const DRAIN_MS = 2000;

/**
 * Answers 413 at once but keeps reading (and dropping) the rest of the upload for a bounded while: closing a
 * socket with unread data makes the kernel reset it, and the client would lose the answer.
 */
function drainAndRefuse(req: IncomingMessage, next: (err: AppError) => void): void {
  let drained = 0;
  const cut = () => req.socket.destroy();
  const timer = setTimeout(cut, DRAIN_MS);
  timer.unref();
  const stop = () => clearTimeout(timer);
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > DRAIN_LIMIT_BYTES) cut();
  });
  req.once('end', stop);
  req.once('close', stop);
  req.resume();
  next(new AppError(ErrorCodes.PayloadTooLarge, `Body over ${MAX_BODY_BYTES} bytes`));
}

/**
 * Reads a request body (at most MAX_BODY_BYTES) before it is proxied, so an oversized body is a 413 here
 * whether its length was declared or it came chunked, and no upstream ever streams more than the limit.
 * The bytes are forwarded unchanged (the services parse and validate them); only the framing changes to a
 * Content-Length.
 */
export function bufferBody(): RequestHandler {
  return (req, res, next) => {
    const declared = req.headers['content-length'];
    if (declared === undefined && req.headers['transfer-encoding'] === undefined) return next();
    const tooLarge = () => drainAndRefuse(req, next);
    if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) return tooLarge();

    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      req.off('data', onData);
      const body = Buffer.concat(chunks, size);
      bodies.set(req, body);
      delete req.headers['transfer-encoding'];
      req.headers['content-length'] = String(body.length);
      next();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        done = true;
        req.off('data', onData);
        tooLarge();
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', finish);
    // An aborted upload never reaches a service, and there is no one left to answer.
    const abandon = () => {
      if (done) return;
      done = true;
      res.destroy();
    };
    req.once('error', abandon);
    req.once('close', () => {
      if (!req.readableEnded) abandon();
    });
  };
}

/**
 * http-proxy `proxyReq` hook: writes the buffered body. The incoming stream has already ended, so the
 * proxy's own pipe only ends the upstream request after this write.
 */
export function writeBufferedBody(proxyReq: ClientRequest, req: IncomingMessage): void {
  const body = bodies.get(req);
  if (body && body.length > 0) proxyReq.write(body);
}
