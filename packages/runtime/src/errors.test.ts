import net from 'node:net';
import { ErrorCodes } from '@zephyr/contracts';
import { AppError, DependencyUnavailableError, isDependencyFailure } from './errors';

const withCode = (code: string) => Object.assign(new Error('failed'), { code });
const named = (name: string) => Object.assign(new Error('failed'), { name });

describe('AppError', () => {
  it('carries a contract code and details, and is an Error', () => {
    const error = new AppError(ErrorCodes.SeatUnavailable, 'Seat 3 is held', [{ seat: 3 }]);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('AppError');
    expect(error.code).toBe('SEAT_UNAVAILABLE');
    expect(error.details).toEqual([{ seat: 3 }]);
  });
});

describe('isDependencyFailure', () => {
  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '08006', '53300', '57014', '40P01', '40001'])(
    'recognises code %s',
    (code) => {
      expect(isDependencyFailure(withCode(code))).toBe(true);
    },
  );

  it.each(['KnexTimeoutError', 'MaxRetriesPerRequestError', 'DependencyUnavailableError', 'ClusterAllFailedError'])(
    'recognises %s',
    (name) => {
      expect(isDependencyFailure(named(name))).toBe(true);
    },
  );

  it('recognises our own DependencyUnavailableError and the clients’ outage messages', () => {
    expect(isDependencyFailure(new DependencyUnavailableError('seat-service down'))).toBe(true);
    expect(isDependencyFailure(new Error('Connection is closed.'))).toBe(true);
    expect(isDependencyFailure(new Error('broker not connected'))).toBe(true);
  });

  it('recognises a Redis Cluster failover: the client gave up following a slot whose master is gone', () => {
    for (const last of ['ReplyError: MOVED 15914 127.0.0.1:17562', 'ReplyError: CLUSTERDOWN The cluster is down']) {
      expect(isDependencyFailure(new Error(`Too many Cluster redirections. Last error: ${last}`))).toBe(true);
    }
    expect(isDependencyFailure(new Error("Cluster isn't ready and enableOfflineQueue options is false"))).toBe(true);
  });

  it('looks through a cause: fetch() to an unreachable host fails with TypeError("fetch failed")', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as net.AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const failed = await fetch(`http://127.0.0.1:${port}/`).catch((err: unknown) => err);
    expect(isDependencyFailure(failed)).toBe(true);
    expect(isDependencyFailure(new Error('wrapped', { cause: withCode('40P01') }))).toBe(true);
    expect(isDependencyFailure(new Error('wrapped', { cause: new TypeError('bug') }))).toBe(false);
  });

  it('does not call a bug or a domain refusal an outage', () => {
    expect(isDependencyFailure(new TypeError('x is undefined'))).toBe(false);
    expect(isDependencyFailure(withCode('23505'))).toBe(false); // unique violation: a real conflict
    expect(isDependencyFailure(new AppError(ErrorCodes.HoldNotFound, 'no hold'))).toBe(false);
    expect(isDependencyFailure('ECONNREFUSED')).toBe(false);
    expect(isDependencyFailure(undefined)).toBe(false);
  });
});
