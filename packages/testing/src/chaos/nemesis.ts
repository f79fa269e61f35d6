import { execFileSync } from 'node:child_process';
import { startService, waitFor, type ServiceProcess } from '../index';
import type { ServiceName, Stack } from '../stack';
import type { TcpProxy } from '../tcp-proxy';
import type { Fault } from './history';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

export type Backing = 'postgres' | 'redis' | 'amqp';

export interface NemesisContext {
  stack: Stack;
  proxies: Record<Backing, TcpProxy>;
  /** Holds a free seat for the nemesis' own buyer; then `reserve(baseUrl)` reserves it there (recorded). */
  holdForReserve(): Promise<((baseUrl: string) => Promise<unknown>) | undefined>;
  sharedRestarts: boolean;
  log(line: string): void;
}

/** Every fault kind; the shared ones restart the machine's Redis/RabbitMQ/PostgreSQL and are off by default. */
export const LOCAL_FAULTS = [
  'kill:seat-service',
  'cut:redis',
  'stop:seat-service',
  'kill:notifier',
  'cut:postgres',
  'kill:gateway',
  'delay:amqp',
  'kill:event-service',
  'cut:amqp',
  'kill:expiry-worker',
  'delay:redis',
  'delay:postgres',
] as const;
export const SHARED_FAULTS = [
  'restart:redis-aof',
  'restart:redis-empty',
  'restart:rabbitmq',
  'restart:postgres',
] as const;

/** SIGKILLs one replica and starts it again on the same port, as an orchestrator would. */
async function killAndRestart(ctx: NemesisContext, name: ServiceName): Promise<string> {
  const victim = pick(ctx.stack.of(name));
  const exited = new Promise<void>((resolve) => victim.child.once('exit', () => resolve()));
  victim.child.kill('SIGKILL');
  await exited;
  await sleep(1000);
  const fresh = await startService(name, ctx.stack.envFor(name, victim.port), {
    port: victim.port,
    readyTimeoutMs: 60_000,
  });
  ctx.stack.processes.splice(ctx.stack.processes.indexOf(victim), 1, fresh);
  return `${name}:${victim.port}`;
}

/**
 * Stops a seat-service replica while a reserve is inside it, past the redlock TTL (5 s) and the reserve
 * deadline (10 s), then resumes it. The replica is one the expiry worker does not call (the worker is
 * given the first seat-service URL), so the expiry path can settle the stalled reserve meanwhile.
 */
async function stopMidReserve(ctx: NemesisContext): Promise<string> {
  const victim: ServiceProcess = ctx.stack.of('seat-service').at(-1)!;
  let reserve: ((baseUrl: string) => Promise<unknown>) | undefined;
  for (let i = 0; i < 20 && !reserve; i++) reserve = await ctx.holdForReserve();
  const answer = reserve?.(victim.baseUrl);
  // A few milliseconds in: sometimes before the reserve began, mostly inside its lock or its transaction.
  await sleep(2 + Math.random() * 10);
  process.kill(victim.child.pid!, 'SIGSTOP');
  try {
    await sleep(13_000);
  } finally {
    process.kill(victim.child.pid!, 'SIGCONT');
  }
  await answer;
  return `seat-service:${victim.port}`;
}

function sh(command: string, args: string[]): void {
  execFileSync(command, args, { stdio: 'ignore', timeout: 60_000 });
}

async function sharedRestart(kind: (typeof SHARED_FAULTS)[number]): Promise<string> {
  if (kind === 'restart:rabbitmq') {
    sh('rabbitmqctl', ['stop_app']);
    await sleep(2000);
    sh('rabbitmqctl', ['start_app']);
    await waitFor(() => (sh('rabbitmq-diagnostics', ['-q', 'check_port_connectivity']), true), {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: 'RabbitMQ',
    });
    return 'rabbitmq';
  }
  if (kind === 'restart:postgres') {
    sh('sh', ['-c', process.env.CHAOS_PG_RESTART_CMD ?? 'service postgresql restart']);
    return 'postgresql';
  }
  // With AOF the restart keeps what was fsynced; without, every key is gone (CI's Redis).
  const aof = kind === 'restart:redis-aof' ? '--appendonly yes --appendfsync everysec' : '--appendonly no';
  sh('redis-cli', ['shutdown', kind === 'restart:redis-aof' ? 'save' : 'nosave']);
  sh('sh', [
    '-c',
    `mkdir -p /var/lib/redis && redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" ${aof} --dir /var/lib/redis`,
  ]);
  await waitFor(() => (sh('redis-cli', ['ping']), true), { timeoutMs: 20_000, intervalMs: 200, what: 'Redis' });
  return 'redis';
}

/** Injects one fault of `kind` and records it from its first effect to the system's recovery. */
export async function inject(ctx: NemesisContext, kind: string): Promise<Fault> {
  const startedAt = Date.now();
  const [verb, object] = kind.split(':') as [string, string];
  let target = object;
  if (verb === 'kill') target = await killAndRestart(ctx, object as ServiceName);
  else if (verb === 'stop') target = await stopMidReserve(ctx);
  else if (verb === 'cut') {
    await ctx.proxies[object as Backing].down();
    await sleep(3000);
    await ctx.proxies[object as Backing].up();
  } else if (verb === 'delay') {
    ctx.proxies[object as Backing].delay(150 + Math.floor(Math.random() * 150));
    await sleep(5000);
    ctx.proxies[object as Backing].delay(0);
  } else if (verb === 'restart') target = await sharedRestart(kind as (typeof SHARED_FAULTS)[number]);
  const fault = { kind: `${verb}:${object}`, target, startedAt, endedAt: Date.now() };
  ctx.log(`fault ${fault.kind} on ${fault.target}: ${((fault.endedAt - startedAt) / 1000).toFixed(1)} s`);
  return fault;
}

/** Faults in turn with a quiet gap between them until `stopped()`; the fault in progress always completes. */
export async function runNemesis(ctx: NemesisContext, stopped: () => boolean, gapMs = 4000): Promise<Fault[]> {
  const kinds: string[] = [...LOCAL_FAULTS];
  if (ctx.sharedRestarts) kinds.push(...SHARED_FAULTS);
  const faults: Fault[] = [];
  for (let i = 0; !stopped(); i++) {
    await sleep(gapMs);
    if (stopped()) break;
    faults.push(await inject(ctx, kinds[i % kinds.length]!));
  }
  return faults;
}
