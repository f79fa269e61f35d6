import type { Router } from 'express';
import { bestAvailableBody, multiHoldBody, type BestAvailableBody, type MultiHoldBody } from '@zephyr/contracts';
import type { TokenVerifier } from '@zephyr/runtime';
import type { MultiSeatRules } from '../../domain/multi-seat-rules';
import { eventIdOf, seatRouter } from './seat-router';

/** SPEC.md §7: several seats in one request, all or nothing. */
export function multiSeatRoutes(rules: MultiSeatRules, verifier: TokenVerifier): Router {
  const { router, mutation } = seatRouter(verifier);

  mutation<string, MultiHoldBody>(
    'post',
    '/api/seats/:eventId/hold',
    eventIdOf,
    multiHoldBody,
    async (eventId, body, req, res) => {
      const { items } = await rules.hold(eventId, body.seats, req.caller!.userId, body.holdDuration);
      res.status(201).json({ items });
    },
  );

  mutation<string, BestAvailableBody>(
    'post',
    '/api/seats/:eventId/best-available',
    eventIdOf,
    bestAvailableBody,
    async (eventId, body, req, res) => {
      const { items } = await rules.bestAvailable(
        eventId,
        body.count,
        body.adjacent ?? true,
        req.caller!.userId,
        body.holdDuration,
      );
      res.status(201).json({ items });
    },
  );

  return router;
}
