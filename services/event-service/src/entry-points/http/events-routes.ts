import {
  createEventBody,
  pageQuery,
  updateEventBody,
  type CreateEventBody,
  type UpdateEventBody,
} from '@zephyr/contracts';
import { authenticate, jsonBody, route, validate, type Counter, type TokenVerifier } from '@zephyr/runtime';
import { Router } from 'express';
import type { EventsService } from '../../domain/events';
import { eventIdParam } from './params';

export interface EventsRoutesDeps {
  events: EventsService;
  verifier: TokenVerifier;
  eventsCreated: Counter;
}

interface PageQuery {
  limit?: string;
  cursor?: string;
}

/** Public REST API for events (SPEC.md §3). Middleware order is the error precedence: auth, body, then validation. */
export function eventsRoutes({ events, verifier, eventsCreated }: EventsRoutesDeps): Router {
  const router = Router();

  router.post(
    '/api/events',
    authenticate(verifier, 'admin'),
    jsonBody(),
    route(async (req, res) => {
      const body = validate<CreateEventBody>(createEventBody, req.body, 'request body');
      const event = await events.create(body, req.requestId);
      eventsCreated.inc();
      res.status(201).json(event);
    }),
  );

  router.get(
    '/api/events',
    authenticate(verifier, 'public'),
    route(async (req, res) => {
      const query = validate<PageQuery>(pageQuery, { ...req.query }, 'query');
      const page = await events.list({
        limit: query.limit === undefined ? undefined : Number(query.limit),
        cursor: query.cursor,
      });
      res.json(page);
    }),
  );

  router.get(
    '/api/events/:id',
    authenticate(verifier, 'public'),
    route(async (req, res) => {
      res.json(await events.get(eventIdParam(req.params.id), req.requestId));
    }),
  );

  router.patch(
    '/api/events/:id',
    authenticate(verifier, 'admin'),
    jsonBody(),
    route(async (req, res) => {
      const id = eventIdParam(req.params.id);
      // No body at all is the same as {}: nothing to change.
      const changes = validate<UpdateEventBody | undefined>(updateEventBody, req.body, 'request body') ?? {};
      res.json(await events.update(id, changes, req.requestId));
    }),
  );

  return router;
}
