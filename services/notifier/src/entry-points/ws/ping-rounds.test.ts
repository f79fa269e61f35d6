import { PingRounds } from './ping-rounds';

const ids = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

it('pings every socket exactly once per round, in slices that differ by at most one', () => {
  for (const [sockets, ticks] of [
    [10_000, 150],
    [7, 3],
    [2, 3],
    [0, 5],
    [1, 1],
  ] as const) {
    const open = ids(sockets);
    const rounds = new PingRounds(ticks, () => open);
    for (let round = 0; round < 2; round++) {
      const slices = Array.from({ length: ticks }, () => rounds.next());
      expect(slices.flat().sort((a, b) => a - b)).toEqual(open);
      const sizes = slices.map((s) => s.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  }
});

it('takes sockets opened during a round into the next one, and keeps pinging in the same order', () => {
  const open = ids(6);
  const rounds = new PingRounds(3, () => open);
  expect(rounds.next()).toEqual([0, 1]);
  open.push(6, 7, 8);
  expect([...rounds.next(), ...rounds.next()]).toEqual([2, 3, 4, 5]);
  expect([rounds.next(), rounds.next(), rounds.next()]).toEqual([
    [0, 1, 2],
    [3, 4, 5],
    [6, 7, 8],
  ]);
});
