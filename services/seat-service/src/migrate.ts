import { createLogger, runMain, runMigrations } from '@zephyr/runtime';
import { loadConfig } from './config';
import { SCHEMA, migrations } from './migrations';
import { SERVICE_NAME } from './service';

/** `node dist/migrate.js` (a k8s Job / compose one-shot): create the database if needed, migrate, exit. */
runMain(async () => {
  const config = loadConfig(process.env);
  const logger = createLogger(SERVICE_NAME, config.LOG_LEVEL);
  await runMigrations({ databaseUrl: config.DATABASE_URL, schema: SCHEMA, migrations, logger });
});
