import { createDb, ensureDatabase, isDependencyFailure, migrate, type Logger } from '@zephyr/runtime';
import { SCHEMA } from '../data-access/schema';
import { migrations } from './index';

const ATTEMPTS = 30;

/**
 * Replicas migrating at once race on CREATE DATABASE / CREATE SCHEMA / knex's own tables, which PostgreSQL
 * reports as a unique violation or "already exists"; the loser simply tries again and finds them there.
 */
const CREATION_RACE_CODES = new Set(['23505', '42P04', '42P06', '42P07']);
const isCreationRace = (err: unknown) => CREATION_RACE_CODES.has(String((err as { code?: unknown }).code));

/**
 * Creates the database if needed and applies pending migrations. Retries while PostgreSQL is not up yet
 * and when another replica is creating the same objects, so a stack started all at once converges.
 */
export async function runMigrations(databaseUrl: string, logger: Logger): Promise<string[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      await ensureDatabase(databaseUrl);
      const db = createDb(databaseUrl, { min: 0, max: 2 });
      try {
        const applied = await migrate(db, SCHEMA, migrations);
        logger.info({ applied }, applied.length > 0 ? 'migrations applied' : 'schema up to date');
        return applied;
      } finally {
        await db.destroy();
      }
    } catch (err) {
      if (attempt >= ATTEMPTS) throw err;
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
