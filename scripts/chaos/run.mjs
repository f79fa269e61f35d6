// npm run chaos [-- --minutes N] [--clients N] [--machine-backing] [--history FILE]
// The recorded workload and the nemesis against two replicas of every service, then the history checker
// (packages/testing/src/chaos). Prints operations, faults and violations by kind; exits 1 on any violation.
// The run starts PostgreSQL, Redis and RabbitMQ of its own (from the machine's binaries, on free loopback
// ports) and restarts them among the faults; --machine-backing uses the machine's instead, without restarts.
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build, ensureInstall, ROOT } from '../ensure-install.mjs';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '20' },
    clients: { type: 'string', default: '8' },
    'machine-backing': { type: 'boolean', default: false },
    history: { type: 'string' },
  },
});
const minutes = Number(values.minutes);
if (!(minutes > 0)) {
  console.error('chaos: --minutes must be a positive number');
  process.exit(2);
}
ensureInstall();
build();
const require = createRequire(import.meta.url);
const { runChaos } = require(path.join(ROOT, 'packages/testing/dist/chaos/run.js'));
const log = (line) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
log(
  `chaos: ${minutes} min, ${values.clients} clients, ${values['machine-backing'] ? "the machine's backing services" : 'own backing services with restarts'}`,
);
const { result, report } = await runChaos({
  durationMs: minutes * 60_000,
  clients: Number(values.clients),
  privateBacking: !values['machine-backing'],
  historyFile: values.history,
  log,
});
console.log(report);
process.exit(result.violations.length === 0 ? 0 : 1);
