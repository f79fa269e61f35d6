import { Router } from 'express';
import {
  ErrorCodes,
  InternalPaths,
  claimExpiriesRequest,
  eventChangedDataSchema,
  expireHoldsRequest,
  settleExpiriesRequest,
  type EventChangedData,
  type ExpirySettlement,
  type HoldVersionRef,
  uuidSchema,
} from '@zephyr/contracts';
import { AppError, jsonBody, route, validate } from '@zephyr/runtime';
import type { SeatRules } from '../../domain/seat-rules';
import type { EventDirectory } from '../../data-access/event-directory';
import type { ExpiryIndex } from '../../data-access/expiry-index';

const INTERNAL_BODY_BYTES = 256 * 1024;

/**
 * Service-to-service endpoints (docs/interfaces.md). The gateway never routes /internal; in Kubernetes a
 * NetworkPolicy keeps the port reachable only from the other services.
 */
export function internalRoutes(rules: SeatRules, directory: EventDirectory, expirySchedule: ExpiryIndex): Router {
  const router = Router();

  router.put(
    InternalPaths.eventConfig(':eventId'),
    jsonBody(),
    route(async (req, res) => {
      const event = validate<EventChangedData>(eventChangedDataSchema.options({ convert: false }), req.body, 'event');
      if (event.id.toLowerCase() !== String(req.params.eventId).toLowerCase()) {
        throw new AppError(ErrorCodes.ValidationFailed, 'The event id in the body must be the one in the path');
      }
      await directory.apply(event);
      res.status(204).end();
    }),
  );

  router.get(
    InternalPaths.seatCounts(':eventId'),
    route(async (req, res) => {
      const eventId = validate<string>(uuidSchema.required(), req.params.eventId, 'path');
      res.json(await rules.seatCounts(eventId.toLowerCase()));
    }),
  );

  router.post(
    InternalPaths.expireHolds,
    // A full batch of hold references is larger than a public request may be.
    jsonBody(INTERNAL_BODY_BYTES),
    route(async (req, res) => {
      const { holds } = validate<{ holds: HoldVersionRef[] }>(expireHoldsRequest, req.body, 'body');
      const results = await Promise.all(
        holds.map(async (h) => ({ ...h, ...(await rules.expire(h.eventId, h.seatNumber, h.holdVersion)) })),
      );
      res.json({ results });
    }),
  );

  // The expiry worker's side of the schedule: claim due holds (leased), expire them above, settle.
  router.post(
    InternalPaths.claimExpiries,
    jsonBody(),
    route(async (req, res) => {
      const { limit, leaseMs } = validate<{ limit: number; leaseMs: number }>(claimExpiriesRequest, req.body, 'body');
      res.json(await expirySchedule.claimDue(limit, leaseMs));
    }),
  );

  router.post(
    InternalPaths.settleExpiries,
    jsonBody(INTERNAL_BODY_BYTES),
    route(async (req, res) => {
      await expirySchedule.settle(validate<ExpirySettlement>(settleExpiriesRequest, req.body, 'body'));
      res.status(204).end();
    }),
  );

  router.get(
    InternalPaths.expiryCounts,
    route(async (_req, res) => {
      res.json(await expirySchedule.counts());
    }),
  );

  return router;
}
