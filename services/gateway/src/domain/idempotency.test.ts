import { AppError } from '@zephyr/runtime/errors';
import { assertValidKey, decideRepeat, type Completed } from './idempotency';

const codeOf = (run: () => unknown): string | undefined => {
  try {
    run();
    return undefined;
  } catch (err) {
    return err instanceof AppError ? err.code : 'not an AppError';
  }
};

describe('assertValidKey', () => {
  it.each(['x', ' ', '~', 'a'.repeat(255), 'order-2024-01-01T00:00:00Z#1'])('accepts %j', (key) => {
    expect(codeOf(() => assertValidKey(key))).toBeUndefined();
  });

  it.each(['', 'a'.repeat(256), 'a\tb', 'a\nb', '\x00', '\x7f', 'caf\u00e9', '\u{1f600}'])('refuses %j', (key) => {
    expect(codeOf(() => assertValidKey(key))).toBe('VALIDATION_FAILED');
  });
});

describe('decideRepeat', () => {
  const hash = 'hash-of-the-first-body';
  const completed: Completed = { state: 'completed', bodyHash: hash, status: 201, headers: {}, body: '' };

  it('replays a completed answer for the same bytes', () => {
    expect(decideRepeat(completed, 'hash-of-the-first-body')).toBe(completed);
  });

  it('refuses other bytes with IDEMPOTENCY_KEY_REUSED', () => {
    expect(codeOf(() => decideRepeat(completed, 'hash-of-another-body'))).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('refuses while in flight with IDEMPOTENCY_IN_FLIGHT, whatever the body', () => {
    const inFlight = { state: 'in-flight' as const, bodyHash: hash, claim: 'c' };
    expect(codeOf(() => decideRepeat(inFlight, hash))).toBe('IDEMPOTENCY_IN_FLIGHT');
    expect(codeOf(() => decideRepeat(inFlight, 'hash-of-another-body'))).toBe('IDEMPOTENCY_IN_FLIGHT');
  });
});
