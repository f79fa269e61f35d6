import { Counter, Gauge, createMetrics, type ServiceMetrics } from '@zephyr/runtime';

export interface NotifierMetrics extends ServiceMetrics {
  connections: Gauge;
  messagesPushed: Counter;
  slowDisconnects: Counter;
  refusedConnections: Counter;
}

export function createNotifierMetrics(): NotifierMetrics {
  const base = createMetrics('notifier');
  const registers = [base.registry];
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
  };
}
