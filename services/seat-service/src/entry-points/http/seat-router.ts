import { Router, type Request, type Response } from 'express';
import Joi from 'joi';
import {
  SEAT_NUMBER_PATTERN,
  UUID_PATTERN,
  matches,
  objectCheck,
  uuidSchema,
  withFastCheck,
  type Access,
  type Identity,
} from '@zephyr/contracts';
import { authenticate, jsonBody, route, validate, type TokenVerifier } from '@zephyr/runtime';
import { assertOwnUserId } from './identity';

const eventIdParam = uuidSchema.required();
/** Exported for its test: the hand-written check must accept nothing Joi refuses. */
export const seatParams = withFastCheck(
  Joi.object({
    eventId: eventIdParam,
    seatNumber: Joi.string().pattern(SEAT_NUMBER_PATTERN, { name: 'canonical positive integer' }).required(),
  }).options({ abortEarly: false }),
  objectCheck({ eventId: matches(UUID_PATTERN), seatNumber: matches(SEAT_NUMBER_PATTERN) }, ['eventId', 'seatNumber']),
);
const eventParams = Joi.object({ eventId: eventIdParam });
const noQuery = Joi.object({}).options({ allowUnknown: false });

export type SeatTarget = { eventId: string; seatNumber: number };

/** The `:eventId` and `:seatNumber` of the path, validated, the event id in its canonical (lower) case. */
export function seatTarget(req: Pick<Request, 'params'>): SeatTarget {
  const params = validate<{ eventId: string; seatNumber: string }>(seatParams, req.params, 'path');
  // Canonical numbers too large for any event are still valid syntax: they are simply above totalSeats.
  const seatNumber = params.seatNumber.length > 9 ? Number.MAX_SAFE_INTEGER : Number(params.seatNumber);
  return { eventId: params.eventId.toLowerCase(), seatNumber };
}

/** The `:eventId` of the path, validated, in its canonical (lower) case. */
export function eventIdOf(req: Request): string {
  return validate<{ eventId: string }>(eventParams, req.params, 'path').eventId.toLowerCase();
}

/**
 * A mutation's body check: an absent body is `{}` unless the schema requires one; then the schema; then a
 * userId in it must be the caller's (403).
 */
export function mutationBody<B>(schema: Joi.Schema) {
  const bodyRequired = (schema.describe() as { flags?: { presence?: string } }).flags?.presence === 'required';
  return (raw: unknown, caller: Identity): B => {
    const body = validate<B & { userId?: string }>(schema, raw === undefined && !bodyRequired ? {} : raw, 'body');
    assertOwnUserId(caller, body.userId);
    return body;
  };
}

type Handler<T, Input> = (target: T, input: Input, req: Request, res: Response) => Promise<void>;

/** A router whose routes validate the path, then the query or body, before their handler runs. */
export function seatRouter(verifier: TokenVerifier) {
  const router: Router = Router();
  return {
    router,
    /**
     * A mutation: the caller's identity (a user) and the JSON body; then the path (`target`), then the body
     * checked against `schema` (an absent body is `{}` unless the schema requires one; a userId in it must
     * be the caller's), then `handle`.
     */
    mutation<T, B>(
      method: 'post' | 'delete',
      path: string,
      target: (req: Request) => T,
      schema: Joi.Schema,
      handle: Handler<T, B>,
    ) {
      const checkBody = mutationBody<B>(schema);
      router[method](
        path,
        authenticate(verifier, 'user'),
        jsonBody(),
        route(async (req, res) => {
          const parsedTarget = target(req);
          const body = checkBody(req.body, req.caller!);
          await handle(parsedTarget, body, req, res);
        }),
      );
    },
    /** A GET for `access`: the path (`target`), then the query checked against `query` (none by default). */
    read<T>(
      path: string,
      access: Access,
      target: (req: Request) => T,
      handle: Handler<T, Record<string, string>>,
      query: Joi.Schema = noQuery,
    ) {
      router.get(
        path,
        authenticate(verifier, access),
        route(async (req, res) => {
          const parsedTarget = target(req);
          await handle(parsedTarget, validate<Record<string, string>>(query, { ...req.query }, 'query'), req, res);
        }),
      );
    },
  };
}
