import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import {
  ENVELOPE_VERSION,
  QueueNames,
  RoutingKeys,
  type SeatEnvelope,
  type SeatRoutingKey,
  type SeatStatus,
} from '@zephyr/contracts';
import { connectBroker, type Broker } from '@zephyr/runtime/messaging';
import type { ServiceProcess } from '@zephyr/testing';

export const silentLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

const STATUS_AFTER: Record<SeatRoutingKey, SeatStatus> = {
  [RoutingKeys.SeatHeld]: 'held',
  [RoutingKeys.SeatRefreshed]: 'held',
  [RoutingKeys.SeatReserved]: 'reserved',
  [RoutingKeys.SeatReleased]: 'available',
  [RoutingKeys.SeatExpired]: 'available',
};

export interface SeatChange {
  eventId: string;
  seatNumber: number;
  userId: string;
  version: number;
}

/** A seat.* envelope exactly as the seat-service publishes it. */
export function seatEnvelope(type: SeatRoutingKey, change: SeatChange, id: string = randomUUID()): SeatEnvelope {
  return {
    id,
    type,
    version: ENVELOPE_VERSION,
    occurredAt: new Date().toISOString(),
    producer: 'notifier-test',
    data: { ...change, status: STATUS_AFTER[type], holdVersion: 1 },
  };
}

export const wsUrl = (proc: ServiceProcess, path = '/ws', token?: string): string =>
  `ws://127.0.0.1:${proc.port}${path}${token === undefined ? '' : `?token=${encodeURIComponent(token)}`}`;

/** Resolves with the HTTP status of a refused upgrade (or 101 when it was accepted). */
export function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('unexpected-response', (req, res) => {
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    socket.once('open', () => {
      resolve(101);
      socket.terminate();
    });
    socket.once('error', reject);
  });
}

export function closeCode(socket: WebSocket, timeoutMs = 5000): Promise<number> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve(-1);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('socket did not close')), timeoutMs);
    socket.once('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Reads one unlabelled-by-us metric (every series carries the service label) from /metrics. */
export async function metric(proc: ServiceProcess, name: string): Promise<number> {
  const text = await (await fetch(`${proc.baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  if (!line) throw new Error(`metric ${name} not found`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** SIGTERM and wait for the exit (ServiceProcess.stop leaves a 10 s timer behind that keeps jest alive). */
export async function stopProcess(proc: ServiceProcess | undefined): Promise<void> {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.child.once('exit', () => resolve()));
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Removes what the notifier replicas declared on the isolated exchange once they have stopped. */
export async function deleteBrokerObjects(broker: Broker, replicaIds: string[]): Promise<void> {
  const channel = broker.connection.createChannel({ name: 'test-cleanup' });
  try {
    await channel.waitForConnect();
    for (const replicaId of replicaIds) {
      const queue = QueueNames.notifierReplica(broker.exchange, replicaId);
      await channel.deleteQueue(queue);
      await channel.deleteQueue(QueueNames.deadLetter(queue));
    }
    await channel.deleteExchange(broker.exchange);
    await channel.deleteExchange(QueueNames.deadLetterExchange(broker.exchange));
  } finally {
    await channel.close();
  }
}

export function testBroker(url: string, exchange: string): Broker {
  return connectBroker({ url, exchange, logger: silentLogger });
}
