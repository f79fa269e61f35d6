import type { ClientRequest, IncomingMessage } from 'node:http';
import type { NextFunction, RequestHandler, Response } from 'express';
import { ErrorCodes, MAX_BODY_BYTES } from '@zephyr/contracts';
import { AppError } from '@zephyr/runtime';

const bodies = new WeakMap<IncomingMessage, Buffer>();
/** Before a 413 is sent, how much more of the upload is read and dropped, and for how long at most. */
const DRAIN_LIMIT_BYTES = 1024 * 1024;
const DRAIN_MS = 1000;

/**
 * Refuses an oversized body with 413 once the rest of the upload has been read and dropped (bounded in
 * bytes and time), then closes the connection. Answering while the client is still sending and then
 * closing would make the kernel reset the connection, and the client would lose the answer.
 */
function drainAndRefuse(req: IncomingMessage, res: Response, next: NextFunction): void {
  let drained = 0;
  let answered = false;
  const answer = () => {
    if (answered) return;
    answered = true;
    clearTimeout(timer);
    res.setHeader('Connection', 'close');
    next(new AppError(ErrorCodes.PayloadTooLarge, `Body over ${MAX_BODY_BYTES} bytes`));
  };
  const timer = setTimeout(answer, DRAIN_MS);
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > DRAIN_LIMIT_BYTES) answer();
  });
  req.once('end', answer);
  // The client gave up: there is no one to answer.
  req.once('close', () => clearTimeout(timer));
  req.resume();
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
    const tooLarge = () => drainAndRefuse(req, res, next);
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

const EMPTY = Buffer.alloc(0);

/** The exact body bytes bufferBody read (empty when the request had no body). */
export function bufferedBody(req: IncomingMessage): Buffer {
  return bodies.get(req) ?? EMPTY;
}

/**
 * http-proxy `proxyReq` hook: writes the buffered body. The incoming stream has already ended, so the
 * proxy's own pipe only ends the upstream request after this write.
 */
export function writeBufferedBody(proxyReq: ClientRequest, req: IncomingMessage): void {
  const body = bodies.get(req);
  if (body && body.length > 0) proxyReq.write(body);
}
