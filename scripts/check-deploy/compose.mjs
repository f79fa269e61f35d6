// docker-compose.yml without a Docker engine: every file it points at exists, the dependency graph
// starts things in the right order, and it agrees with nginx, Prometheus and docs/interfaces.md.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createReport, documentedServices, readRepoFile, redisClusterNodesValid, repoPath } from './report.mjs';

const report = createReport('compose');
const compose = parse(readRepoFile('docker-compose.yml'), { merge: true });
const services = compose.services ?? {};
const names = Object.keys(services);
const documented = documentedServices();
const dockerfileHasHealthcheck = /^HEALTHCHECK /m.test(readRepoFile('Dockerfile'));

report.check(documented.size === 5, 'docs/interfaces.md lists the five services', [...documented.keys()].join(', '));

// Files and directories the compose file refers to.
const entries = Object.entries(services);
const built = entries.filter(([, svc]) => svc.build);
report.checkEach('build contexts and Dockerfiles exist', built, ([name, svc]) => {
  const context = repoPath(svc.build.context ?? '.');
  const dockerfile = join(context, svc.build.dockerfile ?? 'Dockerfile');
  return existsSync(context) && statSync(context).isDirectory() && existsSync(dockerfile) ? '' : name;
});
report.checkEach('each build names an existing services/<SERVICE>', built, ([name, svc]) => {
  const target = svc.build.args?.SERVICE;
  return typeof target === 'string' && existsSync(repoPath('services', target, 'package.json'))
    ? ''
    : `${name} (${target})`;
});
const mounts = entries.flatMap(([name, svc]) =>
  (svc.volumes ?? []).map((v) => ({ name, source: typeof v === 'string' ? v.split(':')[0] : v.source })),
);
report.checkEach('mounted files exist, named volumes are declared', mounts, ({ name, source }) => {
  const local = source.startsWith('.') || source.startsWith('/');
  const found = local ? existsSync(repoPath(source)) : source in (compose.volumes ?? {});
  return found ? '' : `${name}: ${source}`;
});

// Start order: dependencies exist and can report the condition waited for.
const dependencies = entries.flatMap(([name, svc]) => {
  const dependsOn = Array.isArray(svc.depends_on)
    ? Object.fromEntries(svc.depends_on.map((dep) => [dep, { condition: 'service_started' }]))
    : (svc.depends_on ?? {});
  return Object.entries(dependsOn).map(([dep, { condition }]) => ({ name, dep, condition }));
});
report.checkEach(
  'depends_on targets exist and can report what is waited for',
  dependencies,
  ({ name, dep, condition }) => {
    const target = services[dep];
    if (!target) return `${name}: unknown ${dep}`;
    if (condition === 'service_healthy' && !target.healthcheck && !(target.build && dockerfileHasHealthcheck)) {
      return `${name}: ${dep} has no healthcheck`;
    }
    if (condition === 'service_completed_successfully' && target.restart !== 'no') return `${name}: ${dep} restarts`;
    return '';
  },
);

// The application services.
const appServices = names.filter((n) => services[n].build && !n.startsWith('migrate-'));
const gateways = appServices.filter((n) => services[n].build.args.SERVICE === 'gateway');
report.check(gateways.length >= 2, `two gateway replicas (${gateways.join(', ')})`);
for (const [service, port] of documented) {
  const containers = appServices.filter((n) => services[n].build.args.SERVICE === service);
  report.check(containers.length > 0, `${service} runs (${containers.join(', ')})`);
  report.checkEach(
    `${service}: PORT ${port}, JWT_SECRET required from the environment, a V8 heap cap, image CMD`,
    containers,
    (name) => {
      const { environment: env = {}, command } = services[name];
      if (Number(env.PORT) !== port) return `${name}: PORT ${env.PORT}`;
      if (!/^\$\{JWT_SECRET:\?/.test(String(env.JWT_SECRET))) return `${name}: JWT_SECRET has a default`;
      // Compose sets no memory limit, so without a cap V8 sizes the heap from the host (docs/deploy.md, Heap).
      if (!/--max-old-space-size=\d+/.test(String(env.NODE_OPTIONS))) return `${name}: no heap cap in NODE_OPTIONS`;
      return command === undefined ? '' : `${name}: overrides the command`;
    },
  );
}
for (const service of ['event-service', 'seat-service']) {
  const migrate = services[`migrate-${service}`];
  report.check(
    migrate?.build?.args?.SERVICE === service && migrate.command?.join(' ') === 'node dist/migrate.js',
    `migrate-${service} runs node dist/migrate.js from the ${service} image`,
  );
  const { depends_on: dependsOn, environment: env } = services[service] ?? {};
  report.check(
    dependsOn?.[`migrate-${service}`]?.condition === 'service_completed_successfully' &&
      String(env?.MIGRATE_ON_START) === 'false',
    `${service} starts after its migrations and does not run them again`,
  );
}

// Backing services.
report.check(/^postgres:16/.test(services.postgres?.image), 'postgres:16');
report.check(
  /^redis:7/.test(services.redis?.image) && services.redis.command.join(' ').includes('--appendonly yes'),
  'redis:7 with AOF',
);
report.check(/^rabbitmq:3\.13-management/.test(services.rabbitmq?.image), 'rabbitmq:3.13-management');
report.checkEach('backing services have healthchecks', ['postgres', 'redis', 'rabbitmq'], (name) =>
  services[name]?.healthcheck ? '' : name,
);

// Only nginx is published on all interfaces; the rest stay on the host's loopback.
const published = entries.flatMap(([name, svc]) => (svc.ports ?? []).map((port) => ({ name, spec: String(port) })));
report.checkEach('only nginx listens beyond 127.0.0.1', published, ({ name, spec }) =>
  (name === 'nginx' ? spec.endsWith(':8080') : spec.startsWith('127.0.0.1:')) ? '' : `${name}: ${spec}`,
);

// nginx's upstreams: REST to exactly the gateway replicas, WebSocket handshakes to exactly the notifiers.
const nginxConfig = readRepoFile('nginx', 'nginx.conf');
const upstreamServers = (name) =>
  [
    ...(new RegExp(`upstream ${name} \\{([^}]*)\\}`).exec(nginxConfig)?.[1] ?? '').matchAll(
      /^\s*server ([\w.-]+):(\d+)/gm,
    ),
  ]
    .map((m) => `${m[1]}:${m[2]}`)
    .sort()
    .join(',');
const addresses = (containers) =>
  containers
    .map((n) => `${n}:${services[n].environment.PORT}`)
    .sort()
    .join(',');
const notifiers = appServices.filter((n) => services[n].build.args.SERVICE === 'notifier');
report.check(notifiers.length >= 2, `two notifier replicas (${notifiers.join(', ')})`);
for (const [upstream, containers] of [
  ['gateway', gateways],
  ['notifier', notifiers],
]) {
  report.check(
    upstreamServers(upstream) === addresses(containers),
    `nginx upstream ${upstream} = the ${upstream} replicas`,
    `${upstreamServers(upstream)} vs ${addresses(containers)}`,
  );
}
report.checkEach('gateways proxy WebSockets to every notifier replica (NOTIFIER_URL)', gateways, (name) => {
  const urls = String(services[name].environment.NOTIFIER_URL ?? '')
    .split(',')
    .map((url) => url.replace(/^http:\/\//, ''))
    .sort()
    .join(',');
  return urls === addresses(notifiers) ? '' : `${name}: ${services[name].environment.NOTIFIER_URL}`;
});
report.checkEach('nginx starts after the gateways and notifiers are healthy', [...gateways, ...notifiers], (name) =>
  services.nginx?.depends_on?.[name]?.condition === 'service_healthy' ? '' : name,
);

// Descriptors (docs/deploy.md): nginx and a gateway hold two per WebSocket, a notifier one; the limit
// must sit above what WS_MAX_CONNECTIONS allows, so the cap refuses first.
const descriptorsNeeded = { nginx: 2 * 10_000 * notifiers.length, gateway: 2 * 5_000, notifier: 10_000 };
const nofileHolders = [
  ['nginx', 'nginx'],
  ...[...gateways, ...notifiers].map((n) => [n, services[n].build.args.SERVICE]),
];
report.checkEach(
  'ulimits nofile cover the WebSocket caps (nginx, gateways, notifiers)',
  nofileHolders,
  ([name, kind]) => {
    const { soft, hard } = services[name]?.ulimits?.nofile ?? {};
    return soft >= descriptorsNeeded[kind] * 1.5 && hard >= soft
      ? ''
      : `${name}: ${soft}/${hard}, needs ${descriptorsNeeded[kind]}`;
  },
);
const rlimit = Number(/^worker_rlimit_nofile (\d+);/m.exec(nginxConfig)?.[1]);
report.check(
  rlimit > 0 && rlimit <= services.nginx?.ulimits?.nofile?.hard,
  `nginx worker_rlimit_nofile ${rlimit} within the container's nofile`,
);

// Prometheus scrapes every application container.
const prometheus = parse(readRepoFile('monitoring', 'prometheus.yml'));
const targets = new Set(
  prometheus.scrape_configs
    .filter((job) => job.job_name === 'zephyr')
    .flatMap((job) => job.static_configs.flatMap((group) => group.targets)),
);
report.checkEach('prometheus scrapes every application container', appServices, (name) => {
  const target = `${name}:${services[name].environment.PORT}`;
  return targets.has(target) ? '' : target;
});
const promMounts = (services.prometheus?.volumes ?? []).map(String);
report.check(
  promMounts.some((v) => v.startsWith('./monitoring/alerts:/etc/prometheus/alerts')) &&
    prometheus.rule_files.every((glob) => glob.startsWith('/etc/prometheus/alerts/')),
  'prometheus loads the alert rules from the mounted monitoring/alerts',
);

// Grafana is provisioned from the files in monitoring/grafana.
const grafanaMounts = (services.grafana?.volumes ?? []).map(String);
const dashboardsTarget = grafanaMounts.find((v) => v.startsWith('./monitoring/grafana/dashboards:'))?.split(':')[1];
const provider = parse(readRepoFile('monitoring', 'grafana', 'provisioning', 'dashboards', 'zephyr.yml'));
report.check(
  dashboardsTarget !== undefined && provider.providers.every((p) => p.options.path === dashboardsTarget),
  `grafana dashboard provider reads the mounted dashboards (${dashboardsTarget})`,
);
report.check(
  grafanaMounts.some((v) => v.startsWith('./monitoring/grafana/provisioning:/etc/grafana/provisioning')),
  'grafana provisioning mounted',
);

// The Redis Cluster option (docs/deploy.md): REDIS_CLUSTER_NODES with the `${VAR:-}` default is empty (one
// Redis node) unless the operator sets it; a literal value must be a host:port list.
const redisUsers = ['seat-service', 'expiry-worker', 'gateway'].flatMap((base) =>
  entries.filter(([name, svc]) => name === base || svc.build?.args?.SERVICE === base),
);
report.checkEach('Redis users take REDIS_CLUSTER_NODES (empty or host:port list)', redisUsers, ([name, svc]) => {
  const value = svc.environment?.REDIS_CLUSTER_NODES;
  if (value === undefined) return name;
  const literal = String(value).replace(/^\$\{REDIS_CLUSTER_NODES:-([^}]*)\}$/, '$1');
  return redisClusterNodesValid(literal) ? '' : `${name} (${value})`;
});

report.finish();
