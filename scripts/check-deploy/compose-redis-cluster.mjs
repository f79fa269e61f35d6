// docker-compose.redis-cluster.yml, the Redis Cluster override, without a Docker engine: its nodes form a
// cluster with replicas, the one-shot create job waits for and names every node, and laid over
// docker-compose.yml every Redis user gets REDIS_CLUSTER_NODES pointing at those nodes and waits for the job.
import { parse } from 'yaml';
import { createReport, readRepoFile, redisClusterNodesValid } from './report.mjs';

const report = createReport('compose redis-cluster');
const base = parse(readRepoFile('docker-compose.yml'), { merge: true });
const override = parse(readRepoFile('docker-compose.redis-cluster.yml'), { merge: true });
const services = override.services ?? {};
const entries = Object.entries(services);
const JOB = 'redis-cluster-create';

/** The value after `flag` in a command list, or undefined. */
const argOf = (command, flag) => {
  const at = (command ?? []).indexOf(flag);
  return at < 0 ? undefined : String(command[at + 1]);
};

report.check(override.name === base.name, `same project name as docker-compose.yml (${override.name})`);

const nodes = entries.filter(([name]) => /^redis-node-\d+$/.test(name));
const portOf = new Map(nodes.map(([name, svc]) => [name, Number(argOf(svc.command, '--port') ?? 6379)]));
report.checkEach('redis nodes: redis:7, cluster mode, AOF, healthcheck', nodes, ([name, svc]) => {
  const { command, image, healthcheck } = svc;
  if (!/^redis:7/.test(image) || command?.[0] !== 'redis-server') return `${name}: ${image} ${command?.[0]}`;
  if (argOf(command, '--cluster-enabled') !== 'yes') return `${name}: not in cluster mode`;
  if (argOf(command, '--appendonly') !== 'yes') return `${name}: no AOF`;
  return healthcheck ? '' : `${name}: no healthcheck`;
});
report.checkEach('redis nodes announce their service name to clients', nodes, ([name, svc]) =>
  argOf(svc.command, '--cluster-announce-hostname') === name &&
  argOf(svc.command, '--cluster-preferred-endpoint-type') === 'hostname'
    ? ''
    : name,
);
report.checkEach('redis nodes keep /data in their own declared volume', nodes, ([name, svc]) => {
  const volume = (svc.volumes ?? [])
    .map(String)
    .find((v) => v.endsWith(':/data'))
    ?.split(':')[0];
  if (!volume || !(volume in (override.volumes ?? {}))) return `${name}: ${volume ?? 'none'}`;
  return nodes.filter(([, other]) => (other.volumes ?? []).map(String).some((v) => v.startsWith(`${volume}:`)))
    .length === 1
    ? ''
    : `${name}: ${volume} shared`;
});

const job = services[JOB];
const script = [job?.entrypoint, job?.command].flat().filter(Boolean).join(' ');
const replicas = Number(/--cluster-replicas (\d+)/.exec(script)?.[1]);
const masters = nodes.length / (replicas + 1);
report.check(
  Number.isInteger(masters) && masters >= 3 && replicas >= 1,
  `${JOB}: ${nodes.length} nodes, --cluster-replicas ${replicas}: ${masters} masters with a replica each`,
);
report.check(job?.restart === 'no' && /^redis:7/.test(job?.image), `${JOB}: a one-shot redis:7 job`);
report.checkEach(`${JOB} waits for every node to be healthy and names it`, nodes, ([name]) =>
  job?.depends_on?.[name]?.condition === 'service_healthy' && new RegExp(`\\b${name}\\b`).test(script) ? '' : name,
);
report.check(/cluster_state:ok/.test(script), `${JOB}: leaves a formed cluster alone and waits for cluster_state:ok`);

// Laid over the base file: only services it defines are changed, and every Redis user is switched over.
const overridden = entries.filter(([name]) => !portOf.has(name) && name !== JOB);
report.checkEach('every other service it sets exists in docker-compose.yml', overridden, ([name]) =>
  name in (base.services ?? {}) ? '' : name,
);
const redisUsers = Object.entries(base.services ?? {})
  .filter(([, svc]) => ['seat-service', 'expiry-worker', 'gateway'].includes(svc.build?.args?.SERVICE))
  .filter(([name]) => !name.startsWith('migrate-'))
  .map(([name]) => name);
report.checkEach('Redis users get REDIS_CLUSTER_NODES of these nodes', redisUsers, (name) => {
  const value = services[name]?.environment?.REDIS_CLUSTER_NODES;
  if (!value || !redisClusterNodesValid(value)) return `${name}: ${value}`;
  const wrong = value.split(',').filter((entry) => {
    const [host, port] = entry.split(':');
    return portOf.get(host) !== Number(port);
  });
  return wrong.length ? `${name}: ${wrong.join(',')} is not a node` : '';
});
report.checkEach(`Redis users start after ${JOB} succeeded`, redisUsers, (name) =>
  services[name]?.depends_on?.[JOB]?.condition === 'service_completed_successfully' ? '' : name,
);

report.finish();
