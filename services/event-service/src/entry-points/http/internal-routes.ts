import { InternalPaths } from '@zephyr/contracts';
import { route } from '@zephyr/runtime';
import { Router } from 'express';
import type { EventsService } from '../../domain/events';
import { eventIdParam } from './params';

/**
 * Service-to-service reads, without auth: the gateway never routes /internal, and in Kubernetes the
 * event-service NetworkPolicy admits traffic to this port only from the other Zephyr services.
 */
export function internalRoutes(events: EventsService): Router {
  const router = Router();
  // seat-service asks here when it has no copy of an event yet (read-your-writes right after a POST).
  router.get(
    InternalPaths.eventConfig(':id'),
    route(async (req, res) => {
      res.json(await events.record(eventIdParam(req.params.id)));
    }),
  );
  return router;
}
