import type { IncomingHttpHeaders } from 'node:http';

/**
 * Headers that look like identity asserted by a proxy in front of a service (x-user-id, x-auth-request-user,
 * x-remote-user, x-forwarded-user, x-client-cert ...). No Zephyr service reads any of them: each verifies
 * the JWT itself. They are still removed at the edge so that no future reader could be fooled by a client.
 */
const IDENTITY_HEADER = /^x-(user|auth|remote-user|forwarded-user|authenticated|client-cert|ssl-client|roles?\b)/i;

export function stripIdentityHeaders(headers: IncomingHttpHeaders): void {
  for (const name of Object.keys(headers)) {
    if (IDENTITY_HEADER.test(name)) delete headers[name];
  }
}
