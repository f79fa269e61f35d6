import { Router, type Request } from 'express';
import Joi from 'joi';
import {
  bestAvailableBody,
  multiHoldBody,
  uuidSchema,
  type BestAvailableBody,
  type MultiHoldBody,
} from '@zephyr/contracts';
import { route, validate, type TokenVerifier } from '@zephyr/runtime';
import type { MultiSeatRules } from '../../domain/multi-seat-rules';
import { mutation } from './seat-routes';

const eventParams = Joi.object({ eventId: uuidSchema.required() });

function eventIdOf(req: Request): string {
  return validate<{ eventId: string }>(eventParams, req.params, 'path').eventId.toLowerCase();
}

/** SPEC.md §7: several seats in one request, all or nothing. */
export function multiSeatRoutes(rules: MultiSeatRules, verifier: TokenVerifier): Router {
  const router = Router();

  router.post(
    '/api/seats/:eventId/hold',
    ...mutation(verifier),
    route(async (req, res) => {
      const eventId = eventIdOf(req);
      const body = validate<MultiHoldBody>(multiHoldBody, req.body, 'body');
      const { items } = await rules.hold(eventId, body.seats, req.caller!.userId, body.holdDuration);
      res.status(201).json({ items });
    }),
  );

  router.post(
    '/api/seats/:eventId/best-available',
    ...mutation(verifier),
    route(async (req, res) => {
      const eventId = eventIdOf(req);
      const body = validate<BestAvailableBody>(bestAvailableBody, req.body, 'body');
      const { items } = await rules.bestAvailable(
        eventId,
        body.count,
        body.adjacent ?? true,
        req.caller!.userId,
        body.holdDuration,
      );
      res.status(201).json({ items });
    }),
  );

  return router;
}
