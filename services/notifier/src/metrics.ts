import { Counter, Gauge, createMetrics, type ServiceMetrics } from '@zephyr/runtime';

export interface NotifierMetrics extends ServiceMetrics {
  connections: Gauge;
  messagesPushed: Counter;
  slowDisconnects: Counter;
  refusedConnections: Counter;
  resyncs: Counter;
}

/** Read at scrape time from the parts that own the numbers. */
export interface NotifierGauges {
  fanoutBacklog: () => number;
}

export function createNotifierMetrics(gauges: NotifierGauges = { fanoutBacklog: () => 0 }): NotifierMetrics {
  const base = createMetrics('notifier');
  const registers = [base.registry];
  // With the event-loop lag (nodejs_eventloop_lag_*), says whether fan-out keeps up: frames queued, unwritten.
  new Gauge({
    name: 'zephyr_ws_fanout_backlog',
    help: 'Frames queued for WebSocket clients and not written yet (fan-out runs in slices between other work)',
    registers,
    collect() {
      this.set(gauges.fanoutBacklog());
    },
  });
  return {
    ...base,
    connections: new Gauge({ name: 'zephyr_ws_connections', help: 'Open WebSocket connections', registers }),
    messagesPushed: new Counter({
      name: 'zephyr_ws_messages_pushed_total',
      help: 'SEAT_UPDATE and SEAT_UPDATES frames sent to WebSocket clients (one per socket and channel)',
      registers,
    }),
    slowDisconnects: new Counter({
      name: 'zephyr_ws_slow_disconnects_total',
      help: 'WebSocket clients disconnected because their unsent data passed MAX_BUFFERED_BYTES',
      registers,
    }),
    refusedConnections: new Counter({
      name: 'zephyr_ws_refused_connections_total',
      help: 'WebSocket upgrades answered 503 because WS_MAX_CONNECTIONS was reached',
      registers,
    }),
    resyncs: new Counter({
      name: 'zephyr_ws_resyncs_total',
      help:
        'Times the replica queue was found lost or overflowed and its snapshot subscribers got RESYNC and a ' +
        'fresh SEAT_MAP',
      registers,
    }),
  };
}
