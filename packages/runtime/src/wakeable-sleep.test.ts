import { createWakeableSleep } from './wakeable-sleep';

const elapsed = async (run: () => Promise<void>) => {
  const started = Date.now();
  await run();
  return Date.now() - started;
};

it('a wake ends the current sleep', async () => {
  const { sleep, wake } = createWakeableSleep();
  const slept = elapsed(() => sleep(5000));
  wake(); // the sleep has begun: its promise runs synchronously up to the timer
  expect(await slept).toBeLessThan(2000);
});

it('a wake that comes while the loop is busy ends its next sleep at once, and only that one', async () => {
  const { sleep, wake } = createWakeableSleep();
  wake(); // new work arrived during a turn, before the loop went to sleep
  expect(await elapsed(() => sleep(5000))).toBeLessThan(2000);
  // The wake was used up: the next sleep lasts its time.
  expect(await elapsed(() => sleep(200))).toBeGreaterThanOrEqual(150);
});

it('a wake after a sleep ran out is kept for the next sleep', async () => {
  const { sleep, wake } = createWakeableSleep();
  await sleep(10);
  wake();
  expect(await elapsed(() => sleep(5000))).toBeLessThan(2000);
});
