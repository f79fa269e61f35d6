// wrk, the load generator of the HTTP benches: checks it is installed and runs it, parsing what it printed.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export function requireWrk() {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (err) {
    if (err.code === 'ENOENT') {
      console.error('bench: wrk is required (Debian: apt-get install -y wrk)');
      process.exit(2);
    }
  }
}

const toMs = (value, unit) => Number(value) * { us: 0.001, ms: 1, s: 1000 }[unit];

/** One wrk run of `seconds` with `connections` over 4 threads; counts, errors and latency percentiles. */
export async function runWrk({ url, script, seconds, connections }) {
  const { stdout } = await run(
    'wrk',
    ['-t4', `-c${connections}`, `-d${seconds}s`, '--timeout', '30s', '--latency', '-s', script, url],
    { encoding: 'utf8', timeout: (seconds + 60) * 1000 },
  );
  const total = Number(/(\d+) requests in/.exec(stdout)[1]);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const socketErrors = socket ? socket.slice(1).reduce((n, v) => n + Number(v), 0) : 0;
  const p50 = /50%\s+([\d.]+)(us|ms|s)/.exec(stdout);
  const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(stdout);
  return {
    total,
    ok: total - non2xx,
    non2xx,
    socketErrors,
    p50ms: p50 ? toMs(p50[1], p50[2]) : NaN,
    p99ms: p99 ? toMs(p99[1], p99[2]) : NaN,
  };
}
