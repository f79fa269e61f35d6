import { createRemoteJWKSet, jwtVerify, SignJWT, type JWTVerifyGetKey, type JWTPayload } from 'jose';
import Joi from 'joi';
import { ErrorCodes, HttpHeaders, UUID_PATTERN, type Access, type Identity } from '@zephyr/contracts';
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestHandler } from 'express';
import { AppError, DependencyUnavailableError, isDependencyFailure } from './errors';
import { envRules } from './config';

/** A request as far as identity goes: its headers (an express request, or a batch item's). */
export type CarriesHeaders = { headers: IncomingHttpHeaders };

export interface AuthConfig {
  jwtSecret?: string;
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
}

/** Env rules shared by every process that verifies tokens: a secret or a JWKS URL is required. */
export const authEnvRules = {
  JWT_SECRET: envRules.jwtSecret(),
  JWT_JWKS_URL: Joi.string().uri({ scheme: ['http', 'https'] }),
  JWT_ISSUER: Joi.string().max(500),
  JWT_AUDIENCE: Joi.string().max(500),
};
export const authEnvRequirement = ['JWT_SECRET', 'JWT_JWKS_URL'] as const;

export interface TokenVerifier {
  verify(token: string): Promise<Identity>;
}

const CACHE_LIMIT = 20_000;

function unauthenticated(message: string): AppError {
  return new AppError(ErrorCodes.Unauthenticated, message);
}

function identityFrom(payload: JWTPayload): Identity {
  if (typeof payload.sub !== 'string' || !UUID_PATTERN.test(payload.sub))
    throw unauthenticated('Token subject must be a user UUID');
  const roles = (payload as { roles?: unknown }).roles;
  if (roles !== undefined && (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string'))) {
    throw unauthenticated('Token roles claim must be an array of strings');
  }
  return {
    userId: payload.sub.toLowerCase(),
    isAdmin: Array.isArray(roles) && roles.includes('admin'),
    expiresAtMs: (payload.exp as number) * 1000,
  };
}

/**
 * Verifies bearer tokens with pinned algorithms. Verified tokens are cached until they expire so a burst of
 * requests with one token pays for the signature check once; the cache is bounded.
 */
export function createTokenVerifier(config: AuthConfig): TokenVerifier {
  let key: Uint8Array | JWTVerifyGetKey;
  let algorithms: string[];
  if (config.jwksUrl) {
    key = createRemoteJWKSet(new URL(config.jwksUrl), { cooldownDuration: 30_000, timeoutDuration: 5_000 });
    algorithms = ['RS256', 'ES256'];
  } else if (config.jwtSecret && config.jwtSecret.length >= 32) {
    key = new TextEncoder().encode(config.jwtSecret);
    algorithms = ['HS256'];
  } else {
    throw new Error('JWT_SECRET (at least 32 characters) or JWT_JWKS_URL is required');
  }
  const cache = new Map<string, { identity: Identity; expiresAtMs: number }>();

  return {
    async verify(token) {
      const cached = cache.get(token);
      if (cached) {
        if (cached.expiresAtMs > Date.now()) return cached.identity;
        cache.delete(token);
      }
      // Base64url decoders ignore the spare bits of the last character, so one signature has several
      // spellings; only the canonical one is accepted.
      if (!token.split('.').every((part) => Buffer.from(part, 'base64url').toString('base64url') === part)) {
        throw unauthenticated('Invalid or expired token');
      }
      let payload: JWTPayload;
      try {
        const result = await jwtVerify(token, key as Uint8Array, {
          algorithms,
          issuer: config.issuer,
          audience: config.audience,
          requiredClaims: ['exp', 'sub'],
        });
        payload = result.payload;
      } catch (err) {
        const code = (err as { code?: string }).code;
        // The key set could not be fetched (timeout, bad answer, connection refused or reset): the identity
        // provider is the dependency that is down, not the caller's token.
        if (code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JOSE_GENERIC' || isDependencyFailure(err)) {
          throw new DependencyUnavailableError('JWKS unavailable');
        }
        throw unauthenticated('Invalid or expired token');
      }
      const identity = identityFrom(payload);
      if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
      cache.set(token, { identity, expiresAtMs: identity.expiresAtMs ?? 0 });
      return identity;
    },
  };
}

/** Extracts a bearer token; undefined when no Authorization header; 401 when it is malformed. */
export function bearerToken(req: CarriesHeaders): string | undefined {
  const header = req.headers[HttpHeaders.authorization];
  if (header === undefined) return undefined;
  const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/.exec(header);
  if (!match) {
    // Tell a token that is not a JWT apart from a header that is not a bearer token at all.
    if (/^Bearer \S+$/.test(header)) throw unauthenticated('The bearer token is not a valid JWT');
    throw unauthenticated('Authorization must be "Bearer <JWT>"');
  }
  return match[1];
}

export interface MintOptions {
  secret: string;
  userId: string;
  admin?: boolean;
  expiresInSeconds?: number;
  issuer?: string;
  audience?: string;
}

/** Mints an HS256 token for local use and tests. */
export async function mintToken(options: MintOptions): Promise<string> {
  const jwt = new SignJWT(options.admin ? { roles: ['admin'] } : {})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(options.userId)
    .setIssuedAt()
    .setExpirationTime(`${options.expiresInSeconds ?? 3600}s`);
  if (options.issuer) jwt.setIssuer(options.issuer);
  if (options.audience) jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(options.secret));
}

/** The caller's verified identity, or undefined for an anonymous call (public reads). */
export async function optionalCaller(req: CarriesHeaders, verifier: TokenVerifier): Promise<Identity | undefined> {
  const token = bearerToken(req);
  return token === undefined ? undefined : verifier.verify(token);
}

/** A verified identity, or 401. */
export async function requireCaller(req: CarriesHeaders, verifier: TokenVerifier): Promise<Identity> {
  const caller = await optionalCaller(req, verifier);
  if (!caller) throw new AppError(ErrorCodes.Unauthenticated, 'A bearer token is required');
  return caller;
}

/** The one message of every 403 for a route the table marks `admin` (gateway and services alike). */
export const ADMIN_REQUIRED = 'Admin role required';

/** A verified admin identity, or 401/403. */
export async function requireAdmin(req: CarriesHeaders, verifier: TokenVerifier): Promise<Identity> {
  const caller = await requireCaller(req, verifier);
  if (!caller.isAdmin) throw new AppError(ErrorCodes.Forbidden, ADMIN_REQUIRED);
  return caller;
}

/**
 * The caller as the route table's access word (contracts `Access`) demands: `public` verifies a token when
 * one is sent, `user` requires one (401), `admin` requires the admin role too (403).
 */
export function callerFor(access: Access, req: CarriesHeaders, verifier: TokenVerifier): Promise<Identity | undefined> {
  switch (access) {
    case 'public':
      return optionalCaller(req, verifier);
    case 'user':
      return requireCaller(req, verifier);
    case 'admin':
      return requireAdmin(req, verifier);
  }
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The verified caller, set by `authenticate` (undefined on an anonymous public call). */
      caller?: Identity;
    }
  }
}

/**
 * Identity first, before the body is read, so 401/403 win over 413/415/400 (SPEC.md precedence). Services
 * verify the JWT themselves even behind the gateway: a forwarded header is never trusted.
 */
export function authenticate(verifier: TokenVerifier, access: Access): RequestHandler {
  return (req, _res, next) => {
    callerFor(access, req, verifier).then((caller) => {
      req.caller = caller;
      next();
    }, next);
  };
}

/** A service's env schema plus the token settings, of which JWT_SECRET or JWT_JWKS_URL is required. */
export function envSchemaWithAuth<T extends object>(rules: Record<string, Joi.Schema>): Joi.ObjectSchema<T> {
  return Joi.object<T>({ ...rules, ...authEnvRules })
    .or(...authEnvRequirement)
    .label('JWT')
    .messages({ 'object.missing': 'JWT_SECRET (at least 32 characters) or JWT_JWKS_URL is required' });
}

export interface AuthEnv {
  JWT_SECRET?: string;
  JWT_JWKS_URL?: string;
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;
}

export function authConfigFrom(env: AuthEnv): AuthConfig {
  return { jwtSecret: env.JWT_SECRET, jwksUrl: env.JWT_JWKS_URL, issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE };
}
