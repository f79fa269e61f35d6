import { scopeKey } from './idempotency-store';
import type { IdempotencyScope } from '../domain/idempotency';

const base: IdempotencyScope = {
  caller: { userId: '6f1c1e5e-51a8-4b8a-9d5c-0f5c2b1f6c11' },
  method: 'POST',
  path: '/api/events',
  key: 'k',
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
