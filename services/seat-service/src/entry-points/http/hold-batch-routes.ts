import { Router } from 'express';
import {
  InternalPaths,
  holdBatchRequest,
  holdBody,
  type HoldBatchAnswer,
  type HoldBatchItem,
  type HoldBody,
} from '@zephyr/contracts';
import {
  bodyHeadersProblem,
  errorAnswerOf,
  jsonBody,
  parseBodyText,
  requireCaller,
  route,
  validate,
  type Logger,
  type ServiceMetrics,
  type TokenVerifier,
} from '@zephyr/runtime';
import type { SeatRules } from '../../domain/seat-rules';
import { mutationBody, seatTarget } from './seat-router';
import { HOLD_ROUTE, holdSeat } from './seat-routes';

const checkHoldBody = mutationBody<HoldBody>(holdBody);

/** Room for MAX_HOLD_BATCH items of the largest body the gateway lets through, with their envelopes. */
const HOLD_BATCH_BODY_BYTES = 4 * 1024 * 1024;

export interface HoldBatchDeps {
  rules: SeatRules;
  verifier: TokenVerifier;
  logger: Logger;
  metrics: ServiceMetrics;
}

/**
 * One client's hold, given as the gateway received it, with the public route's checks in the public route's
 * order: the path decoded (express does that first), the token (401), the body's headers (413, 415) and
 * JSON (400), the path (400), the body (400), a userId that is not the caller's (403); then the same rule.
 * The answer is the status and body that route would have sent.
 */
async function answerHold(deps: HoldBatchDeps, item: HoldBatchItem): Promise<HoldBatchAnswer> {
  try {
    const params = { eventId: decodeURIComponent(item.eventId), seatNumber: decodeURIComponent(item.seatNumber) };
    const caller = await requireCaller({ headers: { authorization: item.authorization } }, deps.verifier);
    const problem = bodyHeadersProblem({
      'content-type': item.contentType,
      'content-length': String(Buffer.byteLength(item.body)),
    });
    if (problem) throw problem;
    const parsed = parseBodyText(item.body);
    const seat = seatTarget({ params });
    const body = checkHoldBody(parsed, caller);
    const { status, hold } = await holdSeat(deps.rules, seat, caller, body);
    return { status, body: hold };
  } catch (err) {
    return errorAnswerOf(err, deps.logger, item.requestId);
  }
}

/**
 * POST InternalPaths.holdBatch: the single-seat holds the gateway received in one turn of its event loop,
 * answered together (docs/architecture.md, Decisions). Each item is counted in the RED metrics as the public
 * route it stands for, so the hold route's rate, errors and latency read the same either way.
 */
export function holdBatchRoutes(deps: HoldBatchDeps): Router {
  const router = Router();
  router.post(
    InternalPaths.holdBatch,
    jsonBody(HOLD_BATCH_BODY_BYTES),
    route(async (req, res) => {
      const { items } = validate<{ items: HoldBatchItem[] }>(holdBatchRequest, req.body, 'hold batch');
      const started = process.hrtime.bigint();
      const answers = await Promise.all(
        items.map(async (item) => {
          const answer = await answerHold(deps, item);
          const labels = { method: 'POST', route: HOLD_ROUTE, status: String(answer.status) };
          deps.metrics.httpRequests.inc(labels);
          deps.metrics.httpDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
          return answer;
        }),
      );
      res.json({ items: answers });
    }),
  );
  return router;
}
