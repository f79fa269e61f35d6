import { createDb, ensureDatabase, migrate, runMain } from '@zephyr/runtime';
import { loadConfig } from './config';
import { SCHEMA, migrations } from './migrations';

/** Creates the database if needed and runs this service's migrations (a k8s Job / compose one-shot). */
export async function runMigrations(databaseUrl: string): Promise<string[]> {
  await ensureDatabase(databaseUrl);
  const db = createDb(databaseUrl, { min: 0, max: 1 });
  try {
    return await migrate(db, SCHEMA, migrations);
  } finally {
    await db.destroy();
  }
}

if (require.main === module) {
  runMain(async () => {
    const config = loadConfig(process.env);
    const applied = await runMigrations(config.DATABASE_URL);
    process.stdout.write(`seat-service: ${applied.length} migration(s) applied\n`);
  });
}
