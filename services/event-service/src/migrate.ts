import { createLogger, runMain } from '@zephyr/runtime';
import { loadConfig } from './config';
import { SERVICE_NAME } from './service';
import { runMigrations } from './migrations/run';

/** `node dist/migrate.js`: create the database if needed, apply this service's migrations, exit. */
runMain(async () => {
  const config = loadConfig(process.env);
  await runMigrations(config.DATABASE_URL, createLogger(SERVICE_NAME, config.LOG_LEVEL));
});
