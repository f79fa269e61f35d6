import { createRecentIds } from './recent-ids';

describe('createRecentIds', () => {
  it('remembers up to its limit, forgetting the oldest first', () => {
    const recent = createRecentIds(2);
    recent.add('a');
    recent.add('b');
    expect([recent.has('a'), recent.has('b')]).toEqual([true, true]);
    recent.add('c');
    expect([recent.has('a'), recent.has('b'), recent.has('c')]).toEqual([false, true, true]);
  });

  it('does not let a repeated id push out others', () => {
    const recent = createRecentIds(2);
    recent.add('a');
    recent.add('b');
    recent.add('b');
    recent.add('b');
    expect([recent.has('a'), recent.has('b')]).toEqual([true, true]);
  });

  it('keeps exactly the last `limit` distinct ids over many turns of the ring', () => {
    const limit = 1000;
    const recent = createRecentIds(limit);
    const total = 25_000;
    for (let i = 0; i < total; i += 1) recent.add(`id-${i}`);
    const remembered = Array.from({ length: total }, (_, i) => recent.has(`id-${i}`));
    expect(remembered.indexOf(true)).toBe(total - limit);
    expect(remembered.slice(total - limit).every(Boolean)).toBe(true);
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => createRecentIds(0)).toThrow(RangeError);
    expect(() => createRecentIds(1.5)).toThrow(RangeError);
  });
});
