// CPU and memory of every process one hold touches: the stack's services (by child pid), redis-server (the
// one answering REDIS_URL), RabbitMQ's beam.smp, and PostgreSQL as the sum of this stack's backends plus
// the server's own background processes. Read from /proc, so it works for processes of other users too.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ROOT } from '../ensure-install.mjs';
import { cpuSeconds } from './stack.mjs';

const require = createRequire(import.meta.url);
const { Client } = require(path.join(ROOT, 'packages', 'runtime', 'node_modules', 'pg'));

export const BACKING_NAMES = ['redis', 'rabbitmq', 'postgres'];

function redisPids() {
  try {
    const info = execFileSync(
      'redis-cli',
      ['-u', process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', 'info', 'server'],
      {
        encoding: 'utf8',
      },
    );
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    return pid ? [pid] : [];
  } catch {
    return [];
  }
}

function pgrep(name) {
  try {
    return execFileSync('pgrep', ['-x', name], { encoding: 'utf8' }).trim().split('\n').map(Number).filter(Boolean);
  } catch {
    return [];
  }
}

async function postgresPids(database) {
  const client = new Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await client.connect();
  try {
    // Background processes (WAL writer, checkpointer, ...) have no database; other databases' backends are
    // other people's work on this shared server.
    const { rows } = await client.query(
      `SELECT pid FROM pg_stat_activity
        WHERE (datname = $1 OR (datname IS NULL AND backend_type <> 'client backend')) AND pid <> pg_backend_pid()`,
      [database],
    );
    return rows.map((r) => r.pid);
  } finally {
    await client.end();
  }
}

/** name → pids, for the stack's services (from `children`) and the backing services. */
export async function processesOf(children, database) {
  const byName = {};
  for (const { name, child } of children) (byName[name] ??= []).push(child.pid);
  byName.redis = redisPids();
  byName.rabbitmq = pgrep('beam.smp');
  byName.postgres = database ? await postgresPids(database) : [];
  return byName;
}

/** pid → CPU seconds so far, for every pid of `byName`. */
export function cpuSnapshot(byName) {
  const snap = new Map();
  for (const pids of Object.values(byName)) for (const pid of pids) snap.set(pid, cpuSeconds(pid));
  return snap;
}

/**
 * CPU seconds each name used between two snapshots. A pid seen only at the end (a pool connection opened
 * during the run) counts from zero; a pid that exited during the run is lost, which undercounts slightly.
 */
export function cpuBetween(byNameStart, byNameEnd, start, end) {
  const used = {};
  for (const name of new Set([...Object.keys(byNameStart), ...Object.keys(byNameEnd)])) {
    const pids = new Set([...(byNameStart[name] ?? []), ...(byNameEnd[name] ?? [])]);
    used[name] = [...pids].reduce((sum, pid) => sum + Math.max(0, (end.get(pid) ?? 0) - (start.get(pid) ?? 0)), 0);
  }
  return used;
}

function memoryKb(pid, field) {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${field}:\\s+(\\d+)`));
    return line ? Number(line[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Samples RSS (MB) every `intervalMs` until stopped and keeps each name's peak. PostgreSQL backends share
 * the server's buffers, so for it this is the sum of their private (anonymous) memory.
 */
export function rssPeaks(byName, intervalMs = 250) {
  const peaks = {};
  const sample = () => {
    for (const [name, pids] of Object.entries(byName)) {
      const field = name === 'postgres' ? 'RssAnon' : 'VmRSS';
      const mb = pids.reduce((sum, pid) => sum + memoryKb(pid, field), 0) / 1024;
      peaks[name] = Math.max(peaks[name] ?? 0, mb);
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return () => {
    clearInterval(timer);
    sample();
    return peaks;
  };
}
