import { closeSync, openSync, readSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Counter, type Registry } from 'prom-client';

/** How often the loop is sampled, and how late a sample must be to count as a stall. */
export const LOOP_STALL_SAMPLE_MS = 10;
export const LOOP_STALL_THRESHOLD_MS = 10;

/** Seconds the main thread ran and waited for a core during the loop's stalls, since the process started. */
export interface LoopStallTotals {
  stalls: number;
  runningSeconds: number;
  waitingSeconds: number;
}

const SCHEDSTAT = '/proc/thread-self/schedstat';

/**
 * The main thread's CPU time and runqueue wait, in nanoseconds, from Linux's schedstat (`run wait slices`),
 * read through a file kept open (a read at offset 0 regenerates it: about 3 µs). Undefined off Linux.
 */
function openSchedstat(): { read(): [number, number]; close(): void } | undefined {
  let fd: number;
  try {
    fd = openSync(SCHEDSTAT, 'r');
  } catch {
    return undefined;
  }
  const buffer = Buffer.alloc(128);
  return {
    read() {
      const text = buffer.toString('latin1', 0, readSync(fd, buffer, 0, buffer.length, 0));
      const [run, wait] = text.split(' ');
      return [Number(run), Number(wait)];
    },
    close: () => closeSync(fd),
  };
}

let shared: { totals: LoopStallTotals; stop(): void } | undefined;

/**
 * Watches the event loop for stalls, one sampler per process: a 10 ms timer that fires more than 10 ms late
 * is a stall, and the main thread's schedstat across it says how much of it the thread ran (its own work,
 * garbage collection included) and how much it sat runnable waiting for a core. A loop-delay figure alone
 * cannot tell a service that holds its loop from one starved by a busy machine; this can
 * (docs/performance.md, round 12). Undefined where schedstat is not available.
 */
export function loopStallTotals(): LoopStallTotals | undefined {
  if (shared) return shared.totals;
  const schedstat = openSchedstat();
  if (!schedstat) return undefined;
  const totals: LoopStallTotals = { stalls: 0, runningSeconds: 0, waitingSeconds: 0 };
  let last = performance.now();
  let [lastRun, lastWait] = schedstat.read();
  const timer = setInterval(() => {
    const now = performance.now();
    const [run, wait] = schedstat.read();
    if (now - last > LOOP_STALL_SAMPLE_MS + LOOP_STALL_THRESHOLD_MS) {
      totals.stalls++;
      totals.runningSeconds += (run - lastRun) / 1e9;
      totals.waitingSeconds += (wait - lastWait) / 1e9;
    }
    last = now;
    lastRun = run;
    lastWait = wait;
  }, LOOP_STALL_SAMPLE_MS).unref();
  shared = {
    totals,
    stop() {
      clearInterval(timer);
      schedstat.close();
      shared = undefined;
    },
  };
  return totals;
}

/** Stops the process's sampler (tests); the next loopStallTotals() starts a fresh one. */
export function stopLoopStallSampler(): void {
  shared?.stop();
}

/** `zephyr_event_loop_stall_seconds_total{state}` and `zephyr_event_loop_stalls_total` on `registry`. */
export function registerLoopStallMetrics(registry: Registry): void {
  const totals = loopStallTotals();
  if (!totals) return;
  new Counter({
    name: 'zephyr_event_loop_stalls_total',
    help: `Times the event loop ran a ${LOOP_STALL_SAMPLE_MS} ms timer more than ${LOOP_STALL_THRESHOLD_MS} ms late`,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(totals.stalls);
    },
  });
  new Counter({
    name: 'zephyr_event_loop_stall_seconds_total',
    help: 'Main-thread time during event-loop stalls: running (own work and GC) or waiting for a core',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ state: 'running' }, totals.runningSeconds);
      this.inc({ state: 'waiting' }, totals.waitingSeconds);
    },
  });
}
