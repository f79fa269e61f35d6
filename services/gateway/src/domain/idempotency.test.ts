import { AppError } from '@zephyr/runtime';
import { assertValidKey, bodyHash, decideRepeat, scopeKey, type Completed, type IdempotencyScope } from './idempotency';

const base: IdempotencyScope = {
  caller: { userId: '6f1c1e5e-51a8-4b8a-9d5c-0f5c2b1f6c11' },
  method: 'POST',
  path: '/api/events',
  key: 'k',
};

const codeOf = (run: () => unknown): string | undefined => {
  try {
    run();
    return undefined;
  } catch (err) {
    return err instanceof AppError ? err.code : 'not an AppError';
  }
};

describe('scopeKey', () => {
  it('is one hash-tagged key per (caller, method, path, key)', () => {
    expect(scopeKey(base)).toMatch(/^gateway:idem:\{[0-9a-f]{64}\}$/);
    expect(scopeKey({ ...base })).toBe(scopeKey(base));
    const variants: IdempotencyScope[] = [
      { ...base, caller: { userId: 'b3a4c0de-0000-4000-8000-000000000001' } },
      { ...base, method: 'PATCH' },
      { ...base, path: '/api/events/x' },
      { ...base, key: 'k2' },
    ];
    const keys = new Set([base, ...variants].map(scopeKey));
    expect(keys.size).toBe(variants.length + 1);
  });

  it('scopes anonymous callers by client IP, apart from any user', () => {
    const fromIp = (ip: string) => scopeKey({ ...base, caller: { ip } });
    expect(fromIp('10.0.0.1')).toBe(fromIp('10.0.0.1'));
    expect(fromIp('10.0.0.1')).not.toBe(fromIp('10.0.0.2'));
    // A user id spelled like an address is still another caller.
    expect(scopeKey({ ...base, caller: { userId: '10.0.0.1' } })).not.toBe(fromIp('10.0.0.1'));
  });

  it('cannot be collided by moving characters between parts', () => {
    expect(scopeKey({ ...base, path: '/a', key: 'b/c' })).not.toBe(scopeKey({ ...base, path: '/a/b', key: 'c' }));
    expect(scopeKey({ ...base, path: '/a",', key: 'b' })).not.toBe(scopeKey({ ...base, path: '/a', key: '",b' }));
  });
});

describe('assertValidKey', () => {
  it.each(['x', ' ', '~', 'a'.repeat(255), 'order-2024-01-01T00:00:00Z#1'])('accepts %j', (key) => {
    expect(codeOf(() => assertValidKey(key))).toBeUndefined();
  });

  it.each(['', 'a'.repeat(256), 'a\tb', 'a\nb', '\x00', '\x7f', 'caf\u00e9', '\u{1f600}'])('refuses %j', (key) => {
    expect(codeOf(() => assertValidKey(key))).toBe('VALIDATION_FAILED');
  });
});

describe('decideRepeat', () => {
  const hash = bodyHash(Buffer.from('{"a":1}'));
  const completed: Completed = { state: 'completed', bodyHash: hash, status: 201, headers: {}, body: '' };

  it('replays a completed answer for the same bytes', () => {
    expect(decideRepeat(completed, bodyHash(Buffer.from('{"a":1}')))).toBe(completed);
  });

  it('refuses other bytes with IDEMPOTENCY_KEY_REUSED', () => {
    expect(codeOf(() => decideRepeat(completed, bodyHash(Buffer.from('{"a": 1}'))))).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('refuses while in flight with IDEMPOTENCY_IN_FLIGHT, whatever the body', () => {
    const inFlight = { state: 'in-flight' as const, bodyHash: hash, claim: 'c' };
    expect(codeOf(() => decideRepeat(inFlight, hash))).toBe('IDEMPOTENCY_IN_FLIGHT');
    expect(codeOf(() => decideRepeat(inFlight, bodyHash(Buffer.alloc(0))))).toBe('IDEMPOTENCY_IN_FLIGHT');
  });
});
