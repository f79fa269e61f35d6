import { createLogger, runMain, runMigrations } from '@zephyr/runtime';
import { loadConfig } from './config';
import { SERVICE_NAME } from './service';
import { SCHEMA } from './data-access/schema';
import { migrations } from './migrations';

/** `node dist/migrate.js`: create the database if needed, apply this service's migrations, exit. */
runMain(async () => {
  const config = loadConfig(process.env);
  await runMigrations({
    databaseUrl: config.DATABASE_URL,
    schema: SCHEMA,
    migrations,
    logger: createLogger(SERVICE_NAME, config.LOG_LEVEL),
  });
});
