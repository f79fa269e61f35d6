// The Dockerfile and .dockerignore, read as text (no engine here to build them): the build follows the
// agreed recipe and the build context still carries everything the recipe copies.
import { existsSync } from 'node:fs';
import { createReport, documentedServices, readRepoFile, repoPath } from './report.mjs';

const report = createReport('image');
const dockerfile = readRepoFile('Dockerfile');
const lines = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const instructions = lines.map((l) => {
  const [op, ...rest] = l.split(/\s+/);
  return { op: op.toUpperCase(), args: rest.join(' ') };
});
const stages = instructions.filter((i) => i.op === 'FROM');
const lastStage = instructions.slice(instructions.lastIndexOf(stages.at(-1)));
const runs = instructions.filter((i) => i.op === 'RUN').map((i) => i.args);

report.check(stages.length >= 3, `multi-stage build (${stages.length} stages)`);
report.check(/ARG NODE_IMAGE=node:20-(bookworm-slim|alpine)/.test(dockerfile), 'Node 20 slim base image');
report.check(
  instructions.some((i) => i.op === 'ARG' && i.args === 'SERVICE'),
  'one recipe for every service (ARG SERVICE)',
);
report.check(
  runs.some((r) => r.includes('pnpm@10.34.9')),
  'pnpm pinned to the workspace version 10.34.9',
);
report.check(
  runs.some((r) => /pnpm install .*--frozen-lockfile/.test(r)),
  'dependencies installed from the lockfile as is',
);
report.check(
  runs.some((r) => r.includes('tsc -b "services/$SERVICE"')),
  'compiles only the chosen service and its references',
);
report.check(
  runs.some((r) => /pnpm --filter "@zephyr\/\$SERVICE" deploy --prod --legacy/.test(r)),
  'pnpm deploy --prod --legacy: the image gets that service and its production dependencies only',
);
report.check(
  lastStage.some((i) => i.op === 'COPY' && i.args.startsWith('--from=build /out')),
  'runtime stage copies only the deployed package',
);
const user = lastStage.filter((i) => i.op === 'USER').at(-1)?.args ?? '';
report.check(/^[1-9]\d*(:\d+)?$/.test(user), `runs as a numeric non-root user (${user || 'none'})`);
report.check(
  lastStage.some((i) => i.op === 'HEALTHCHECK' && i.args.includes("fetch('http://127.0.0.1:'")),
  'HEALTHCHECK queries /health with node fetch',
);
report.check(
  lastStage.some((i) => i.op === 'CMD' && i.args === '["node", "dist/main.js"]'),
  'CMD is node dist/main.js (signals reach node)',
);
report.check(
  lastStage.some((i) => i.op === 'ENTRYPOINT' && i.args.includes('tini')),
  'tini is PID 1',
);

// The health check falls back to each service's documented port; keep the table in the Dockerfile true.
const portMap = /const d=\{([^}]*)\}/.exec(dockerfile)?.[1] ?? '';
for (const [service, port] of documentedServices()) {
  report.check(
    new RegExp(`'?${service}'?:${port}\\b`).test(portMap),
    `health check default port for ${service} is ${port}`,
  );
}

// COPY sources must exist and survive .dockerignore.
const ignored = readRepoFile('.dockerignore')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const isIgnored = (path) =>
  ignored.some((pattern) => {
    const bare = pattern.replace(/^\*\*\//, '');
    return path === bare || path.startsWith(`${bare}/`) || path.split('/').includes(bare);
  });
for (const { args } of instructions.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))) {
  const sources = args.split(/\s+/).slice(0, -1);
  for (const source of sources.filter((s) => s !== '.')) {
    report.check(existsSync(repoPath(source)) && !isIgnored(source), `COPY ${source} is in the build context`);
  }
}
for (const needed of [
  'package.json',
  'pnpm-lock.yaml',
  'pnpm-workspace.yaml',
  'tsconfig.base.json',
  'packages',
  'services',
]) {
  report.check(!isIgnored(needed), `.dockerignore keeps ${needed}`);
}
for (const excluded of ['node_modules', 'dist', '.git']) {
  report.check(isIgnored(excluded), `.dockerignore drops ${excluded}`);
}

report.finish();
