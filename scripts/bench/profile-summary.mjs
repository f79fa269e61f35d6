// Summarizes a V8 .cpuprofile (from `BENCH_CPU_PROF=<service> npm run bench`) by self time: the top
// functions, and the same time grouped by package (node_modules/<name>, the service's own code, node:*).
// Usage: node scripts/bench/profile-summary.mjs <file.cpuprofile> [top=25]
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/bench/profile-summary.mjs <file.cpuprofile> [top]');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

function packageOf(url) {
  if (!url) return '(vm)';
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const workspace = /(services|packages)\/([^/]+)\//.exec(url);
  return workspace ? `${workspace[1]}/${workspace[2]}` : url;
}

const byFunction = new Map();
const byPackage = new Map();
let total = 0;
for (const [id, us] of selfUs) {
  const { callFrame } = nodes.get(id);
  const where = callFrame.url ? `${callFrame.url.replace(/^.*node_modules\//, '')}:${callFrame.lineNumber + 1}` : '';
  const key = `${callFrame.functionName || '(anonymous)'} ${where}`.trim();
  byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  const pkg = callFrame.url ? packageOf(callFrame.url) : callFrame.functionName; // (garbage collector), (idle)...
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  total += us;
}
const busy = total - (byPackage.get('(idle)') ?? 0);
const print = (title, map) => {
  console.log(
    `\n${title} (share of non-idle time; ${(busy / 1e6).toFixed(2)} s busy of ${(total / 1e6).toFixed(2)} s)`,
  );
  [...map]
    .filter(([k]) => k !== '(idle)' && !k.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .forEach(([k, us]) =>
      console.log(`${((us / busy) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`),
    );
};
print('by package', byPackage);
print('by function, self time', byFunction);
