import { Router } from 'express';
import Joi from 'joi';
import { eventChangedDataSchema, uuidSchema, type EventChangedData } from '@zephyr/contracts';
import { jsonBody, route, validate } from '@zephyr/runtime';
import type { SeatRules } from '../../domain/seat-rules';
import type { EventDirectory } from '../../data-access/event-directory';

const MAX_EXPIRE_BATCH = 500;

const expireBody = Joi.object({
  holds: Joi.array()
    .items(
      Joi.object({
        eventId: uuidSchema.required(),
        seatNumber: Joi.number().integer().min(1).required(),
        holdVersion: Joi.number().integer().min(0).required(),
      }),
    )
    .max(MAX_EXPIRE_BATCH)
    .required(),
}).options({ convert: false, allowUnknown: false });

/**
 * Service-to-service endpoints (docs/interfaces.md). The gateway never routes /internal; in Kubernetes a
 * NetworkPolicy keeps the port reachable only from the other services.
 */
export function internalRoutes(rules: SeatRules, directory: EventDirectory): Router {
  const router = Router();

  router.put(
    '/internal/events/:eventId',
    jsonBody(),
    route(async (req, res) => {
      const event = validate<EventChangedData>(eventChangedDataSchema.options({ convert: false }), req.body, 'event');
      await directory.apply(event);
      res.status(204).end();
    }),
  );

  router.post(
    '/internal/holds/expire',
    jsonBody(),
    route(async (req, res) => {
      const { holds } = validate<{ holds: { eventId: string; seatNumber: number; holdVersion: number }[] }>(
        expireBody,
        req.body,
        'body',
      );
      const results = await Promise.all(
        holds.map(async (h) => ({ ...h, ...(await rules.expire(h.eventId, h.seatNumber, h.holdVersion)) })),
      );
      res.json({ results });
    }),
  );

  return router;
}
