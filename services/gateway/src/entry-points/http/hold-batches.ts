import http from 'node:http';
import type { RequestHandler } from 'express';
import {
  InternalPaths,
  MAX_HOLD_BATCH,
  holdBatchAnswersOf,
  parseJson,
  type HoldBatchAnswer,
  type HoldBatchItem,
} from '@zephyr/contracts';
import { createBatcher, type Histogram, type Logger } from '@zephyr/runtime';
import { bufferedBody } from './body';
import {
  UnexpectedUpstreamAnswer,
  proxyTargetOf,
  roundRobin,
  upstreamAgent,
  upstreamFailed,
  type ProxyTarget,
} from './proxy';

/** One batch to one seat-service replica: the answers in item order, or an error for all of them. */
function postBatch(target: ProxyTarget, items: HoldBatchItem[], timeoutMs: number): Promise<HoldBatchAnswer[]> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify({ items });
    const request = http.request(
      {
        agent: upstreamAgent,
        protocol: target.protocol,
        host: target.hostname,
        port: target.port,
        method: 'POST',
        path: `${target.path.replace(/\/$/, '')}${InternalPaths.holdBatch}`,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        timeout: timeoutMs,
      },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('error', reject);
        answer.on('end', () => {
          const status = answer.statusCode ?? 0;
          if (status !== 200) {
            reject(new UnexpectedUpstreamAnswer(`hold batch answered ${status}`, status));
            return;
          }
          let answers: HoldBatchAnswer[] | undefined;
          try {
            answers = holdBatchAnswersOf(parseJson(Buffer.concat(chunks).toString('utf8')), items.length);
          } catch {
            answers = undefined;
          }
          if (answers) resolve(answers);
          else reject(new UnexpectedUpstreamAnswer('hold batch answer unreadable', status));
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error('upstream timeout')));
    request.on('error', reject);
    request.end(payload);
  });
}

/**
 * `POST /api/seats/:eventId/:seatNumber/hold`, batched: the holds this gateway received in one turn of its
 * event loop go to one seat-service replica as one request (InternalPaths.holdBatch), at most MAX_HOLD_BATCH
 * at a time, and each client gets its own item's answer. An on-sale is many holds at once, and each proxied
 * request cost both services a full HTTP exchange; batched, they share one (docs/performance.md, round 9).
 * Runs after the guard, the body buffer and the idempotency layer, like the proxy it stands in for (the body
 * stays buffered, so a hold can still be proxied on its own).
 */
export function batchedHolds(
  urls: string,
  logger: Logger,
  timeoutMs: number,
  /** The seat proxy: a replica of the previous release has no batch route (404), so it gets each hold on its own. */
  oneByOne: RequestHandler,
  batchSize: Pick<Histogram, 'observe'>,
): RequestHandler {
  const pick = roundRobin(urls, proxyTargetOf);
  const batcher = createBatcher<HoldBatchItem, HoldBatchAnswer>(
    (items) => {
      batchSize.observe(items.length);
      return postBatch(pick(), items, timeoutMs);
    },
    { maxItems: MAX_HOLD_BATCH, maxDelayMs: 0 },
  );
  return (req, res, next) => {
    // The route table matched /api/seats/:eventId/:seatNumber/hold; the segments go on still encoded.
    const [, , , eventId, seatNumber] = req.originalUrl.split('?', 1)[0]!.split('/');
    batcher
      .add({
        requestId: req.requestId,
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        eventId: eventId!,
        seatNumber: seatNumber!,
        body: bufferedBody(req).toString('utf8'),
      })
      .then(
        (answer) => res.status(answer.status).json(answer.body),
        (err: Error) =>
          err instanceof UnexpectedUpstreamAnswer && err.status === 404
            ? oneByOne(req, res, next)
            : upstreamFailed(res, logger, err, urls),
      );
  };
}
