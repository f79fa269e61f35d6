import { DependencyUnavailableError } from './errors';

export interface UpstreamGet {
  /** Bounds the whole call; past it the service counts as unavailable. */
  timeoutMs: number;
  headers?: Record<string, string>;
  /** The answers that mean what was asked for does not exist (404 by default). */
  isNotFound?: (status: number) => boolean;
  /** Throws the caller's own error for a not-found answer. */
  notFound: () => never;
}

/**
 * A GET to another service, answering its JSON body on a 2xx. No answer, any other status but the
 * not-found ones, or an unreadable body is that service being unavailable (a 503 for our caller).
 */
export async function getUpstreamJson(service: string, url: string, options: UpstreamGet): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { headers: options.headers, signal: AbortSignal.timeout(options.timeoutMs) });
  } catch (err) {
    throw new DependencyUnavailableError(`${service} unreachable: ${(err as Error).message}`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    if ((options.isNotFound ?? ((status) => status === 404))(res.status)) options.notFound();
    throw new DependencyUnavailableError(`${service} answered ${res.status}`);
  }
  try {
    return await res.json();
  } catch (err) {
    throw new DependencyUnavailableError(`${service} answered unreadable JSON: ${(err as Error).message}`);
  }
}
