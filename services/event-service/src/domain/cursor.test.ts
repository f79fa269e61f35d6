import { ErrorCodes } from '@zephyr/contracts';
import { decodeCursor, encodeCursor } from './cursor';

describe('page cursors', () => {
  const key = { createdAt: new Date('2026-03-04T05:06:07.089Z'), id: '6f1c5b3e-1111-4222-8333-444455556666' };

  it('round-trips and is URL-safe', () => {
    const cursor = encodeCursor(key);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(key);
  });

  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  it.each([
    ['not base64 JSON', 'abc'],
    ['an object', encode({ createdAt: key.createdAt, id: key.id })],
    ['three elements', encode([key.createdAt.toISOString(), key.id, 1])],
    ['a bad id', encode([key.createdAt.toISOString(), 'nope'])],
    ['a non-UTC time', encode(['2026-03-04T05:06:07.089+01:00', key.id])],
    ['an impossible date', encode(['2026-02-31T05:06:07.089Z', key.id])],
    ['a number', encode([1, key.id])],
  ])('rejects %s as VALIDATION_FAILED', (_what, cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(expect.objectContaining({ code: ErrorCodes.ValidationFailed }));
  });
});
