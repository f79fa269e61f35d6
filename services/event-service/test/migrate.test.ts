import { spawn } from 'node:child_process';
import path from 'node:path';
import { Client } from 'pg';
import { BACKING, http, REPO_ROOT, useService } from '@zephyr/testing';

const MIGRATE = path.join(REPO_ROOT, 'services/event-service/dist/migrate.js');

// The one test that runs the service starts it on a database it migrated first.
const fixture = useService('event-service', 'es-migrate', { startOnSetup: false });
let freshUrl: string;
let freshName: string;

function runMigrate(databaseUrl: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MIGRATE], {
      env: { ...process.env, ...fixture.isolation.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

async function query<T>(databaseUrl: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

beforeAll(() => {
  freshName = `${new URL(fixture.isolation.databaseUrl).pathname.slice(1)}_fresh`;
  const url = new URL(fixture.isolation.databaseUrl);
  url.pathname = `/${freshName}`;
  freshUrl = url.toString();
});

afterAll(async () => {
  await query(BACKING.postgresAdminUrl, `DROP DATABASE IF EXISTS "${freshName}" WITH (FORCE)`);
});

it('creates the database and schema on a fresh server, concurrently and idempotently', async () => {
  const runs = await Promise.all([runMigrate(freshUrl), runMigrate(freshUrl)]);
  for (const run of runs) expect(run).toMatchObject({ code: 0 });
  // Exactly one replica applied the migration; the other found the schema up to date.
  const outputs = runs.map((r) => r.output).join('\n');
  expect(outputs.match(/migrations applied/g)).toHaveLength(1);
  expect(outputs).toContain('schema up to date');
  const tables = await query<{ table_name: string }>(
    freshUrl,
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'event_service' ORDER BY table_name",
  );
  expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(['events', 'outbox']));
});

it('starts without migrating when MIGRATE_ON_START=false, on a migrated database', async () => {
  expect((await runMigrate(fixture.isolation.databaseUrl)).code).toBe(0);
  const service = await fixture.start({ MIGRATE_ON_START: 'false', SEAT_SERVICE_URL: 'http://127.0.0.1:9' });
  const token = fixture.admin;
  const res = await http(service.baseUrl, 'POST', '/api/events', { token, body: { name: 'Migrated', totalSeats: 10 } });
  expect(res.status).toBe(201);
});
