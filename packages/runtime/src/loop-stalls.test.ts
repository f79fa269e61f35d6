import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from '@zephyr/testing';
import { createMetrics } from './metrics';
import { loopStallTotals, stopLoopStallSampler } from './loop-stalls';

const mainThreadRunNs = () => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);

afterEach(() => stopLoopStallSampler());

it('a loop held by its own work is a stall the main thread spent running', async () => {
  const before = { ...loopStallTotals()! };
  // 80 ms of the main thread's own CPU: its schedstat, so the process's other threads do not count.
  const until = mainThreadRunNs() + 80e6;
  let spin = 0;
  while (mainThreadRunNs() < until) spin++;
  expect(spin).toBeGreaterThan(0);
  // The sampler's tick, overdue since the loop was held, records the stall as soon as the loop runs timers.
  const after = await waitFor(() => loopStallTotals()!.stalls > before.stalls && loopStallTotals()!, {
    what: 'the stall to be recorded',
  });
  expect(after.runningSeconds - before.runningSeconds).toBeGreaterThanOrEqual(0.08);
});

describe('a loop starved of a core', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });

  it('is a stall the main thread spent waiting, not running', async () => {
    // Two busy processes and the watched one on the same core, the watched one at a tenth of their weight.
    // Its loop always has work (1 ms pieces) but gets about a twentieth of that core, whatever else this
    // machine runs: its timer comes late, and the thread spends most of the gap runnable, waiting.
    for (let i = 0; i < 2; i++)
      children.push(spawn('taskset', ['-c', '0', process.execPath, '-e', 'for (;;) {}'], { stdio: 'ignore' }));
    const loopStalls = JSON.stringify(path.join(__dirname, '..', 'dist', 'loop-stalls.js'));
    const watched = spawn(
      'taskset',
      [
        '-c',
        '0',
        'nice',
        '-n',
        '10',
        process.execPath,
        '-e',
        `const { loopStallTotals } = require(${loopStalls});
         loopStallTotals();
         const started = Date.now();
         const piece = () => {
           const end = performance.now() + 1;
           while (performance.now() < end);
           if (Date.now() - started < 2000) return setImmediate(piece);
           process.stdout.write(JSON.stringify(loopStallTotals()));
           process.exit(0);
         };
         piece();`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(watched);
    let output = '';
    watched.stdout!.on('data', (chunk) => (output += chunk));
    await new Promise((resolve) => watched.once('exit', resolve));
    const totals = JSON.parse(output);
    expect(totals.stalls).toBeGreaterThan(10);
    expect(totals.waitingSeconds).toBeGreaterThan(0.5);
    expect(totals.waitingSeconds).toBeGreaterThan(totals.runningSeconds * 3);
  }, 30_000);
});

it('the service registry exposes the stalls, split by state', async () => {
  const { registry } = createMetrics('loop-stall-test');
  const text = await registry.metrics();
  expect(text).toMatch(/^zephyr_event_loop_stalls_total\{service="loop-stall-test"\} \d+$/m);
  expect(text).toMatch(
    /^zephyr_event_loop_stall_seconds_total\{state="running",service="loop-stall-test"\} [\d.e+-]+$/m,
  );
  expect(text).toMatch(
    /^zephyr_event_loop_stall_seconds_total\{state="waiting",service="loop-stall-test"\} [\d.e+-]+$/m,
  );
});
