import { startService, type ServiceProcess } from '../index';
import type { ServiceName, Stack } from '../stack';
import type { TcpProxy } from '../tcp-proxy';
import type { PrivateBacking } from '../private-backing';
import type { Fault } from './history';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

export type Backing = 'postgres' | 'redis' | 'amqp';

export interface NemesisContext {
  stack: Stack;
  proxies: Record<Backing, TcpProxy>;
  /** Holds a free seat for the nemesis' own buyer; then `reserve(baseUrl)` reserves it there (recorded). */
  holdForReserve(): Promise<((baseUrl: string) => Promise<unknown>) | undefined>;
  /** The run's own PostgreSQL, Redis and RabbitMQ, which the restart faults restart; none: no restarts. */
  backing?: PrivateBacking;
  log(line: string): void;
}

/** Fault kinds on the run's processes and its own TCP proxies; the restarts need private backing services. */
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
export const RESTART_FAULTS = [
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

async function restart(backing: PrivateBacking, kind: (typeof RESTART_FAULTS)[number]): Promise<string> {
  if (kind === 'restart:rabbitmq') await backing.restartRabbitMq();
  else if (kind === 'restart:postgres') await backing.restartPostgres();
  // With AOF the restart keeps what was fsynced (up to a second is lost); without, every key is gone.
  else await backing.restartRedis(kind === 'restart:redis-aof' ? 'aof' : 'nothing');
  return kind.split(':')[1]!;
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
  } else if (verb === 'restart') {
    if (!ctx.backing) throw new Error(`${kind} needs the run's own backing services`);
    target = await restart(ctx.backing, kind as (typeof RESTART_FAULTS)[number]);
  }
  const fault = { kind: `${verb}:${object}`, target, startedAt, endedAt: Date.now() };
  ctx.log(`fault ${fault.kind} on ${fault.target}: ${((fault.endedAt - startedAt) / 1000).toFixed(1)} s`);
  return fault;
}

/** Faults in turn with a quiet gap between them until `stopped()`; the fault in progress always completes. */
export async function runNemesis(ctx: NemesisContext, stopped: () => boolean, gapMs = 4000): Promise<Fault[]> {
  const kinds: string[] = [...LOCAL_FAULTS];
  // Restarts go between the local faults, so that a run of any length sees some of them.
  if (ctx.backing) RESTART_FAULTS.forEach((kind, i) => kinds.splice(3 + i * 4, 0, kind));
  const faults: Fault[] = [];
  for (let i = 0; !stopped(); i++) {
    await sleep(gapMs);
    if (stopped()) break;
    faults.push(await inject(ctx, kinds[i % kinds.length]!));
  }
  return faults;
}
