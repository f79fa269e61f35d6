import { createDb, ensureDatabase, isDependencyFailure, migrate, type Logger } from '@zephyr/runtime';
import { SCHEMA } from '../data-access/schema';
import { migrations } from './index';

const ATTEMPTS = 30;

/**
 * Creates the database if needed and applies pending migrations. Retries while PostgreSQL is not up yet,
 * so a stack started all at once converges without manual steps.
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
      if (attempt >= ATTEMPTS || !isDependencyFailure(err)) throw err;
      logger.warn({ attempt, err: (err as Error).message }, 'database not reachable for migrations; retrying');
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}
