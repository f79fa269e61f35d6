import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createMetrics } from './metrics';
import { loopStallTotals, stopLoopStallSampler } from './loop-stalls';

const mainThreadRunNs = () => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
const nextTicks = () => new Promise((resolve) => setTimeout(resolve, 50));

afterEach(() => stopLoopStallSampler());

it('a loop held by its own work is a stall the main thread spent running', async () => {
  const before = { ...loopStallTotals()! };
  await nextTicks();
  // 80 ms of the main thread's own CPU, allocation-free so no other thread of the process adds to it.
  const until = mainThreadRunNs() + 80e6;
  let spin = 0;
  while (mainThreadRunNs() < until) spin++;
  expect(spin).toBeGreaterThan(0);
  await nextTicks();
  const after = loopStallTotals()!;
  expect(after.stalls).toBeGreaterThan(before.stalls);
  expect(after.runningSeconds - before.runningSeconds).toBeGreaterThanOrEqual(0.08);
});

describe('a loop starved of a core', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });

  it('is a stall the main thread spent waiting, not running', async () => {
    // Two busy processes and the watched one on the same core, the watched one at a tenth of their weight:
    // whatever else this machine runs, its timer comes late because it waits for that core.
    for (let i = 0; i < 2; i++)
      children.push(spawn('taskset', ['-c', '0', process.execPath, '-e', 'for (;;) {}'], { stdio: 'ignore' }));
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
        `const { loopStallTotals } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'loop-stalls.js'))});
         loopStallTotals();
         setTimeout(() => { process.stdout.write(JSON.stringify(loopStallTotals())); process.exit(0); }, 2000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(watched);
    let output = '';
    watched.stdout!.on('data', (chunk) => (output += chunk));
    await new Promise((resolve) => watched.once('exit', resolve));
    const totals = JSON.parse(output);
    expect(totals.stalls).toBeGreaterThan(3);
    // It has next to nothing to run: its stalls are time spent runnable behind the busy ones.
    expect(totals.waitingSeconds).toBeGreaterThan(0.05);
    expect(totals.waitingSeconds).toBeGreaterThan(totals.runningSeconds * 2);
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
