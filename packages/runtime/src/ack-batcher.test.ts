import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConsumeMessage } from 'amqplib';
import { createAckBatcher } from './messaging';

/** A channel that records what would go on the wire. */
function recordingChannel() {
  const frames: string[] = [];
  const channel = {
    ack: (m: ConsumeMessage, allUpTo?: boolean) => frames.push(`ack ${m.fields.deliveryTag}${allUpTo ? '+' : ''}`),
    nack: (m: ConsumeMessage, _allUpTo?: boolean, requeue?: boolean) =>
      frames.push(`nack ${m.fields.deliveryTag}${requeue ? ' requeue' : ''}`),
  } as unknown as ChannelWrapper;
  return { channel, frames };
}
const delivery = (deliveryTag: number) => ({ fields: { deliveryTag } }) as ConsumeMessage;
const nextTurn = () => new Promise((r) => setImmediate(r));

describe('coalesced consumer acks', () => {
  it('acks a finished run from the oldest open delivery with one multiple ack, the rest one by one', async () => {
    const { channel, frames } = recordingChannel();
    const acks = createAckBatcher(() => channel);
    acks.reset();
    const m = [1, 2, 3, 4, 5, 6].map(delivery);
    m.forEach((x) => acks.received(x));
    for (const i of [2, 0, 1, 4]) acks.ack(m[i]!);
    expect(frames).toEqual([]); // nothing before the turn ends
    await nextTurn();
    // 1..3 finished: one ack multiple up to 3; 5 finished behind unfinished 4: its own ack.
    expect(frames).toEqual(['ack 3+', 'ack 5']);
    acks.ack(m[3]!);
    acks.ack(m[5]!);
    await nextTurn();
    // 4 and 6 are the open ones now (5 is settled), so one multiple ack covers both and nothing else.
    expect(frames).toEqual(['ack 3+', 'ack 5', 'ack 6+']);
  });

  it('sends a nack at once, and a later multiple ack never covers an unfinished delivery', async () => {
    const { channel, frames } = recordingChannel();
    const acks = createAckBatcher(() => channel);
    acks.reset();
    const m = [1, 2, 3].map(delivery);
    m.forEach((x) => acks.received(x));
    acks.ack(m[2]!);
    acks.nack(m[0]!, true);
    expect(frames).toEqual(['nack 1 requeue']);
    await nextTurn();
    expect(frames).toEqual(['nack 1 requeue', 'ack 3']); // 2 is still open: no multiple ack over it
    acks.ack(m[1]!);
    acks.flush();
    expect(frames).toEqual(['nack 1 requeue', 'ack 3', 'ack 2+']);
  });

  it('drops acks of deliveries from before a reconnect (their tags mean other messages now)', async () => {
    const { channel, frames } = recordingChannel();
    const acks = createAckBatcher(() => channel);
    acks.reset();
    const old = delivery(1);
    acks.received(old);
    acks.reset();
    const fresh = delivery(1);
    acks.received(fresh);
    acks.ack(old);
    acks.nack(old, true);
    await nextTurn();
    expect(frames).toEqual([]);
    acks.ack(fresh);
    await nextTurn();
    expect(frames).toEqual(['ack 1+']);
  });
});
