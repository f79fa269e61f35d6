import knex, { type Knex } from 'knex';
import { Client, types } from 'pg';
import { isDependencyFailure } from './errors';
import type { Logger } from './logger';

export type { Knex };

/**
 * Opens a pool. pg's type parsers are process-global, so the one this project relies on (bigint counts as JS
 * numbers; ids and counts here fit in 2^53) is set when a pool is opened, not as a side effect of importing.
 */
export function createDb(url: string, pool = { min: 0, max: 10 }): Knex {
  types.setTypeParser(types.builtins.INT8, (value: string) => Number(value));
  return knex({
    client: 'pg',
    connection: {
      connectionString: url,
      connectionTimeoutMillis: 3000,
      statement_timeout: 10_000,
      // A process stopped mid-transaction (SIGSTOP, a long GC pause) must not keep its row locks for
      // ever: PostgreSQL ends the session, the transaction rolls back and fenced writers can decide.
      idle_in_transaction_session_timeout: 5_000,
    },
    pool: { ...pool, acquireTimeoutMillis: 3000 },
    acquireConnectionTimeout: 3000,
  });
}

/** Creates the database named in `url` when it does not exist (first start on a fresh machine). */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`Unsupported database name: ${name}`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const existing = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (existing.rowCount === 0) {
      await client.query(`CREATE DATABASE "${name}"`).catch((err: { code?: string }) => {
        // Another process created it first: 42P04, or 23505 when both inserted into pg_database at once.
        if (err.code !== '42P04' && err.code !== '23505') throw err;
      });
    }
  } finally {
    await client.end();
  }
}

export interface Migration {
  name: string;
  up(db: Knex): Promise<void>;
  down(db: Knex): Promise<void>;
}

/**
 * Runs this service's migrations (in-code list, so dist needs no file globbing) into its own schema.
 * A session advisory lock on a connection of its own serialises replicas that start together.
 */
export async function migrate(db: Knex, schema: string, migrations: readonly Migration[]): Promise<string[]> {
  const lockDb = knex({ client: 'pg', connection: db.client.config.connection, pool: { min: 1, max: 1 } });
  try {
    await lockDb.raw('select pg_advisory_lock(hashtext(?))', [`zephyr-migrate:${schema}`]);
    await db.raw('CREATE SCHEMA IF NOT EXISTS ??', [schema]);
    const source: Knex.MigrationSource<Migration> = {
      getMigrations: async () => [...migrations],
      getMigrationName: (m) => m.name,
      getMigration: async (m) => ({ up: (k: Knex) => m.up(k), down: (k: Knex) => m.down(k) }),
    };
    const [, applied] = (await db.migrate.latest({
      migrationSource: source,
      schemaName: schema,
      tableName: 'knex_migrations',
    })) as [number, string[]];
    return applied;
  } finally {
    await lockDb.destroy();
  }
}

const MIGRATION_ATTEMPTS = 30;

/**
 * Replicas migrating at once race on CREATE DATABASE / CREATE SCHEMA / knex's own tables, which PostgreSQL
 * reports as a unique violation or "already exists"; the loser simply tries again and finds them there.
 */
const CREATION_RACE_CODES = new Set(['23505', '42P04', '42P06', '42P07']);
const isCreationRace = (err: unknown) => CREATION_RACE_CODES.has(String((err as { code?: unknown }).code));

export interface MigrationPlan {
  databaseUrl: string;
  schema: string;
  migrations: readonly Migration[];
  logger: Logger;
}

/**
 * Every service's one way to migrate: creates the database if needed and applies pending migrations.
 * Retries while PostgreSQL is not up yet and when another replica is creating the same objects, so a
 * stack started all at once converges.
 */
export async function runMigrations({ databaseUrl, schema, migrations, logger }: MigrationPlan): Promise<string[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      await ensureDatabase(databaseUrl);
      const db = createDb(databaseUrl, { min: 0, max: 2 });
      try {
        const applied = await migrate(db, schema, migrations);
        logger.info({ applied }, applied.length > 0 ? 'migrations applied' : 'schema up to date');
        return applied;
      } finally {
        await db.destroy();
      }
    } catch (err) {
      if (attempt >= MIGRATION_ATTEMPTS) throw err;
      if (isCreationRace(err)) {
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
        continue;
      }
      if (!isDependencyFailure(err)) throw err;
      logger.warn({ attempt, err: (err as Error).message }, 'database not reachable for migrations; retrying');
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}
