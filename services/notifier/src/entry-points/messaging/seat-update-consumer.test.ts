import { createLogger } from '@zephyr/runtime';
import { REPLICA_QUEUE_MAX_LENGTH, type Broker } from '@zephyr/runtime/messaging';
import type { ClientSession } from '../../domain/client-session';
import { SubscriptionHub } from '../../domain/hub';
import { resyncIfChangesLost } from './seat-update-consumer';

describe('resyncIfChangesLost', () => {
  const cases = [
    { first: true, existed: false, messageCount: 0, resync: false, why: 'process start: nobody to tell' },
    { first: false, existed: true, messageCount: 42, resync: false, why: 'outage: the queue kept everything' },
    { first: false, existed: false, messageCount: 0, resync: true, why: 'queue created again' },
    { first: false, existed: true, messageCount: REPLICA_QUEUE_MAX_LENGTH, resync: true, why: 'queue full' },
  ];
  it.each(cases)('$why → resync: $resync', ({ first, existed, messageCount, resync }) => {
    const hub = new SubscriptionHub<ClientSession>();
    const spreads: number[] = [];
    hub.resyncAll = (spreadMs) => {
      spreads.push(spreadMs);
      return 0;
    };
    let rounds = 0;
    const deps = {
      broker: {} as Broker,
      replicaId: 'r',
      hub,
      logger: createLogger('test', 'silent'),
      resyncSpreadMs: 1234,
      onResync: () => rounds++,
    };
    resyncIfChangesLost(deps, { first, existed, messageCount });
    expect(spreads).toEqual(resync ? [1234] : []);
    expect(rounds).toBe(resync ? 1 : 0);
  });
});
