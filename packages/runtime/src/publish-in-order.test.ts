import type { DomainEnvelope } from '@zephyr/contracts';
import { publishInOrder } from './messaging';

/** Records each publish and each pass of the event loop (a setImmediate ticker) in one timeline. */
function recorder(refuse?: (index: number) => Error | undefined) {
  const timeline: (number | 'pass')[] = [];
  let ticking = true;
  const tick = () => {
    if (!ticking) return;
    timeline.push('pass');
    setImmediate(tick);
  };
  setImmediate(tick);
  const broker = {
    publish: (envelope: DomainEnvelope) => {
      const index = Number(envelope.id);
      timeline.push(index);
      const error = refuse?.(index);
      // A confirm arrives in a later pass of the event loop, as the broker's would.
      return error ? Promise.reject(error) : new Promise<void>((resolve) => setImmediate(resolve));
    },
  };
  return { broker, timeline, stop: () => (ticking = false) };
}

const messages = (count: number) =>
  Array.from({ length: count }, (_, i) => ({ envelope: { id: String(i) } as DomainEnvelope }));

/** Publishes between two passes of the event loop, run by run. */
const runs = (timeline: (number | 'pass')[]) =>
  timeline
    .join(',')
    .split('pass')
    .map((run) => run.split(',').filter(Boolean).length)
    .filter((n) => n > 0);

it('publishes a turn in order, sixteen per pass of the event loop', async () => {
  const { broker, timeline, stop } = recorder();
  await publishInOrder(broker, messages(100));
  stop();
  expect(timeline.filter((e) => e !== 'pass')).toEqual(Array.from({ length: 100 }, (_, i) => i));
  expect(runs(timeline)).toEqual([16, 16, 16, 16, 16, 16, 4]);
});

it('publishes a backlog (over 256) at once, in order', async () => {
  const { broker, timeline, stop } = recorder();
  await publishInOrder(broker, messages(300));
  stop();
  expect(timeline.filter((e) => e !== 'pass')).toEqual(Array.from({ length: 300 }, (_, i) => i));
  expect(runs(timeline)).toEqual([300]);
});

it('issues every publish before it rejects with a refusal, and leaves no rejection unhandled', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const { broker, timeline, stop } = recorder((i) => (i === 3 ? new Error('broker not connected') : undefined));
    await expect(publishInOrder(broker, messages(40))).rejects.toThrow('broker not connected');
    stop();
    expect(timeline.filter((e) => e !== 'pass')).toHaveLength(40);
    // Node reports an unhandled rejection at the end of the pass it was made in: the refusal came in the
    // first of the three passes, so a report would already be here.
    expect(unhandled).toEqual([]);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
