import { createLogger, runMain, runMigrations } from '@zephyr/runtime';
import { loadConfig } from './config';
import { SCHEMA, migrations } from './migrations';

/** `node dist/migrate.js` (a k8s Job / compose one-shot): create the database if needed, migrate, exit. */
runMain(async () => {
  const config = loadConfig(process.env);
  const logger = createLogger('seat-service', config.LOG_LEVEL);
  await runMigrations({ databaseUrl: config.DATABASE_URL, schema: SCHEMA, migrations, logger });
});
