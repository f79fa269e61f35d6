import type { Knex } from 'knex';
import type { DomainEnvelope } from '@zephyr/contracts';
import { publishInOrder, type Broker } from './messaging';
import type { Logger } from './logger';
import { createWakeableSleep } from './wakeable-sleep';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export const OUTBOX_TABLE = 'outbox';

/** Migration step: the outbox table a service writes in the same transaction as its state change. */
export async function createOutboxTable(db: Knex, schema: string): Promise<void> {
  await db.schema.withSchema(schema).createTable(OUTBOX_TABLE, (t) => {
    t.bigIncrements('seq').primary();
    t.text('message_id').notNullable().unique();
    t.jsonb('envelope').notNullable();
    t.text('request_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });
}

export async function appendToOutbox(
  trx: Knex.Transaction,
  schema: string,
  envelopes: readonly DomainEnvelope[],
  requestId?: string,
): Promise<void> {
  if (envelopes.length === 0) return;
  await trx
    .withSchema(schema)
    .insert(envelopes.map((e) => ({ message_id: e.id, envelope: JSON.stringify(e), request_id: requestId ?? null })))
    .into(OUTBOX_TABLE);
}

export interface OutboxMetrics {
  published: Counter<'outbox'>;
  backlog: Gauge<'outbox'>;
  /** Events per publishing turn: how well a relay batches (consumers of the batch feed pay per message). */
  turnSize: Histogram<'outbox'>;
}

/** Outbox metrics, shared by every relay of a process (labelled by outbox kind). */
export function outboxMetrics(registry: Registry): OutboxMetrics {
  const existing = {
    published: registry.getSingleMetric('zephyr_outbox_published_total') as Counter<'outbox'> | undefined,
    backlog: registry.getSingleMetric('zephyr_outbox_backlog') as Gauge<'outbox'> | undefined,
    turnSize: registry.getSingleMetric('zephyr_outbox_turn_events') as Histogram<'outbox'> | undefined,
  };
  if (existing.published && existing.backlog && existing.turnSize) {
    return { published: existing.published, backlog: existing.backlog, turnSize: existing.turnSize };
  }
  return {
    published: new Counter({
      name: 'zephyr_outbox_published_total',
      help: 'Domain events published from an outbox and confirmed by the broker',
      labelNames: ['outbox'] as const,
      registers: [registry],
    }),
    backlog: new Gauge({
      name: 'zephyr_outbox_backlog',
      help: 'Domain events committed but not yet confirmed by the broker',
      labelNames: ['outbox'] as const,
      registers: [registry],
    }),
    turnSize: new Histogram({
      name: 'zephyr_outbox_turn_events',
      help: 'Domain events published per relay turn',
      labelNames: ['outbox'] as const,
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers: [registry],
    }),
  };
}

export interface OutboxRelayOptions {
  db: Knex;
  schema: string;
  broker: Broker;
  logger: Logger;
  registry: Registry;
  batchSize?: number;
  /**
   * How often an idle relay looks for rows without being kicked (default 1 s). A writer kicks its own
   * process's relay after each commit, so the poll only finds rows whose writer died before relaying them.
   */
  idlePollMs?: number;
  /**
   * Only relay rows at least this old. Used where the outbox is the durable fallback behind a faster,
   * ordered path that deletes the rows it delivered (seat-service's reservations).
   */
  minAgeMs?: number;
  /** Further envelopes to publish with each batch of rows, confirmed with them (e.g. their bulk batches). */
  companions?(envelopes: readonly DomainEnvelope[]): DomainEnvelope[];
}

export interface OutboxRelay {
  /** Wakes the relay right after a local commit instead of waiting for the next poll. */
  kick(): void;
  stop(): Promise<void>;
}

/**
 * Publishes committed outbox rows with publisher confirms and deletes them only once the broker acked.
 * Rows are locked with SKIP LOCKED so replicas share the work; a crash before the delete republishes
 * (consumers dedupe on the envelope id).
 */
export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { db, schema, broker, logger } = options;
  const batchSize = options.batchSize ?? 500;
  const idlePollMs = options.idlePollMs ?? 1000;
  const { published, backlog, turnSize } = outboxMetrics(options.registry);
  const refreshBacklog = async () => {
    try {
      const row = (await db.withSchema(schema).from(OUTBOX_TABLE).count({ n: '*' }).first()) as
        | { n: number }
        | undefined;
      backlog.set({ outbox: 'postgres' }, Number(row?.n ?? 0));
    } catch {
      /* database down: keep the last value */
    }
  };
  const backlogTimer = setInterval(() => void refreshBacklog(), 5000);
  backlogTimer.unref();

  let running = true;
  const { sleep, wake } = createWakeableSleep();

  const relayOnce = async (): Promise<number> =>
    db.transaction(async (trx) => {
      const rows = (await trx
        .withSchema(schema)
        .select('seq', 'envelope', 'request_id')
        .from(OUTBOX_TABLE)
        .modify((q) => {
          if (options.minAgeMs)
            q.where('created_at', '<', trx.raw(`now() - interval '1 millisecond' * ?`, [options.minAgeMs]));
        })
        .orderBy('seq')
        .limit(batchSize)
        .forUpdate()
        .skipLocked()) as { seq: number; envelope: DomainEnvelope; request_id: string | null }[];
      if (rows.length === 0) return 0;
      const companions = options.companions?.(rows.map((r) => r.envelope)) ?? [];
      // The companions (batches: what live pushes are made of) first, then the rows in order.
      await publishInOrder(broker, [
        ...companions.map((envelope) => ({ envelope })),
        ...rows.map((r) => ({ envelope: r.envelope, requestId: r.request_id ?? undefined })),
      ]);
      await trx
        .withSchema(schema)
        .from(OUTBOX_TABLE)
        .whereIn(
          'seq',
          rows.map((r) => r.seq),
        )
        .delete();
      return rows.length;
    });

  const loop = (async () => {
    while (running) {
      try {
        if (!broker.isConnected()) {
          await sleep(500);
          continue;
        }
        const count = await relayOnce();
        if (count > 0) {
          published.inc({ outbox: 'postgres' }, count);
          turnSize.observe({ outbox: 'postgres' }, count);
        }
        if (count < batchSize) await sleep(idlePollMs);
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'outbox relay failed; retrying');
        await sleep(1000);
      }
    }
  })();

  return {
    kick: () => wake(),
    async stop() {
      running = false;
      clearInterval(backlogTimer);
      wake();
      await loop;
    },
  };
}
