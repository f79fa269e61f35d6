// Rendered Kubernetes manifests (kubectl kustomize output), checked three ways without a cluster:
//  1. schema: each object against the Kubernetes OpenAPI schema (kubernetes-models' validators);
//  2. strict: unknown fields (a typo such as `readinesProbe`) through TypeScript's excess-property check
//     on the same models' types, which the schema validators let through;
//  3. policy: what this deployment promises (probes, shutdown budget, non-root, network paths...).
// Usage: node k8s.mjs <rendered overlay.yaml>... [--schema-only <rendered base.yaml>...]; policy applies to
// every overlay, and an overlay that runs its own Redis Cluster gets that checked too.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { createReport, documentedServices, redisClusterNodesValid } from './report.mjs';

const report = createReport('k8s');

/** The report with every message prefixed by the overlay it is about. */
const about = (label) => ({
  check: (condition, message, why) => report.check(condition, `${label}: ${message}`, why),
  checkEach: (message, items, problem) => report.checkEach(`${label}: ${message}`, items, problem),
  note: (message) => report.note(`${label}: ${message}`),
});
const here = dirname(fileURLToPath(import.meta.url));
const modelsDir = join(here, '..', 'node_modules', 'kubernetes-models');

/** A Kubernetes memory quantity (Mi, Gi, M, G or bytes) in MiB. */
function mebibytes(quantity) {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?$/.exec(String(quantity ?? ''));
  if (!match) return NaN;
  const factor = { Ki: 1 / 1024, Mi: 1, Gi: 1024, K: 1e3 / 2 ** 20, M: 1e6 / 2 ** 20, G: 1e9 / 2 ** 20 }[match[2]];
  return Number(match[1]) * (factor ?? 1 / 2 ** 20);
}

function load(file) {
  const objects = parseAllDocuments(readFileSync(file, 'utf8'))
    .map((doc) => doc.toJS())
    .filter(Boolean);
  // kustomize folds long base64 values over lines; the API server's decoder skips the newlines.
  for (const obj of objects) {
    for (const field of ['data', 'binaryData']) {
      if (obj.kind !== 'Secret' && field === 'data') continue;
      for (const key of Object.keys(obj[field] ?? {})) obj[field][key] = obj[field][key].replace(/\s+/g, '');
    }
  }
  return objects;
}

async function schemaCheck(label, objects) {
  let valid = 0;
  for (const obj of objects) {
    const name = `${label} ${obj.kind}/${obj.metadata?.name}`;
    try {
      const module = await import(pathToFileURL(join(modelsDir, obj.apiVersion, `${obj.kind}.js`)).href);
      new module[obj.kind](obj).validate();
      valid += 1;
    } catch (err) {
      report.fail(`${name} does not match the ${obj.apiVersion} ${obj.kind} schema: ${err.message}`);
    }
  }
  report.check(valid === objects.length, `${label}: ${valid}/${objects.length} objects match the Kubernetes schema`);
}

function strictCheck(label, objects) {
  const dir = join(here, '..', 'strict');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${label.replace(/\W+/g, '-')}.mts`);
  const source = objects.map((obj, i) => {
    const path = `kubernetes-models/${obj.apiVersion}/${obj.kind}`;
    return `import type { I${obj.kind} as T${i} } from '${path}';\nexport const m${i}: T${i} = ${JSON.stringify(obj)};`;
  });
  writeFileSync(file, `${source.join('\n')}\n`);
  const tsc = join(here, '..', 'node_modules', 'typescript', 'bin', 'tsc');
  const args = [
    '--noEmit',
    '--strict',
    '--target',
    'es2022',
    '--module',
    'nodenext',
    '--moduleResolution',
    'nodenext',
    '--skipLibCheck',
    file,
  ];
  const result = spawnSync(process.execPath, [tsc, ...args], { encoding: 'utf8' });
  const errors = result.stdout
    .split('\n')
    .filter((l) => l.includes('error TS'))
    .map((l) => {
      const index = Number(/\.mts\((\d+),/.exec(l)?.[1] ?? 0) / 2 - 1;
      const obj = objects[Math.max(0, Math.ceil(index))];
      return `${obj?.kind}/${obj?.metadata?.name}: ${l.replace(/^.*error TS\d+: /, '')}`;
    });
  for (const error of errors) report.fail(`${label} ${error}`);
  report.check(
    result.status === 0,
    `${label}: no unknown or mistyped fields (strict)`,
    result.status !== 0 && !errors.length ? result.stdout + result.stderr : '',
  );
}

const matches = (selector, labels) => Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
const selects = (selector, labels) =>
  matches(selector.matchLabels, labels) &&
  (selector.matchExpressions ?? []).every(
    (e) => e.operator === 'In' && e.values.includes(labels['app.kubernetes.io/name']),
  );

/** The calls NetworkPolicies allow, as `source->target` (a source in another namespace as `namespace/pod`). */
function allowedCalls(policies, services) {
  const allowed = new Set();
  const peerNames = (peer) => {
    if (peer.namespaceSelector) {
      const ns = peer.namespaceSelector.matchLabels?.['kubernetes.io/metadata.name'] ?? '?';
      const pod = peer.podSelector?.matchLabels?.['app.kubernetes.io/name'] ?? '*';
      return [`${ns}/${pod}`];
    }
    return [...services.keys()].filter((s) => selects(peer.podSelector, { 'app.kubernetes.io/name': s }));
  };
  for (const policy of policies) {
    const targets = [...services.keys()].filter((s) =>
      selects(policy.spec.podSelector, { 'app.kubernetes.io/name': s }),
    );
    for (const rule of policy.spec.ingress ?? []) {
      for (const peer of rule.from ?? []) {
        for (const source of peerNames(peer)) for (const target of targets) allowed.add(`${source}->${target}`);
      }
    }
  }
  return allowed;
}

function policyCheck(label, objects) {
  const report = about(label);
  const byKind = (kind) => objects.filter((o) => o.kind === kind);
  const find = (kind, name) => objects.find((o) => o.kind === kind && o.metadata.name === name);
  const services = documentedServices();
  const deployments = byKind('Deployment');
  const config = byKind('ConfigMap')[0]?.data ?? {};
  const drainSeconds = Number(config.SHUTDOWN_DRAIN_MS) / 1000;
  const namespace = byKind('Namespace')[0]?.metadata.name;

  report.check(
    objects.filter((o) => o.kind !== 'Namespace').every((o) => o.metadata.namespace === namespace),
    `everything lives in namespace ${namespace}`,
  );
  report.check(
    'REDIS_CLUSTER_NODES' in config && redisClusterNodesValid(config.REDIS_CLUSTER_NODES),
    `REDIS_CLUSTER_NODES is set: empty (one Redis node) or a Redis Cluster's host:port list (${config.REDIS_CLUSTER_NODES})`,
  );
  report.check(config.MIGRATE_ON_START === 'false', 'Deployments do not migrate on start (MIGRATE_ON_START=false)');
  report.check(
    [...services.keys()].sort().join() ===
      deployments
        .map((d) => d.metadata.name)
        .sort()
        .join(),
    'one Deployment per documented service',
  );

  for (const deploy of deployments) {
    const name = deploy.metadata.name;
    const pod = deploy.spec.template;
    const [app] = pod.spec.containers;
    const port = app.ports?.find((p) => p.name === 'http')?.containerPort;
    const env = Object.fromEntries((app.env ?? []).map((e) => [e.name, e.value]));
    const preStop = app.lifecycle?.preStop?.exec?.command ?? [];
    const preStopSeconds = preStop[0] === 'sleep' ? Number(preStop[1]) : 0;
    const grace = pod.spec.terminationGracePeriodSeconds ?? 30;
    const limits = app.resources?.limits ?? {};
    const requests = app.resources?.requests ?? {};
    const podSecurity = pod.spec.securityContext ?? {};
    const security = app.securityContext ?? {};

    report.check(matches(deploy.spec.selector.matchLabels, pod.metadata.labels), `${name}: selector matches its pods`);
    report.check(
      port === services.get(name) && Number(env.PORT) === port,
      `${name}: listens on documented port ${services.get(name)}`,
    );
    report.check(
      app.readinessProbe?.httpGet?.path === '/health/ready' && app.readinessProbe.httpGet.port === 'http',
      `${name}: readiness is /health/ready`,
    );
    report.check(
      app.livenessProbe?.httpGet?.path === '/health' && app.livenessProbe.httpGet.port === 'http',
      `${name}: liveness is /health`,
    );
    report.check(
      Boolean(requests.cpu && requests.memory && limits.cpu && limits.memory),
      `${name}: resource requests and limits`,
    );
    // Node sizes its heap from the container's limit and lets dead objects fill it before a full GC: the
    // cap keeps the heap to half the limit, leaving the rest for code, buffers and sockets.
    const heapCapMb = Number(/--max-old-space-size=(\d+)/.exec(String(env.NODE_OPTIONS))?.[1]);
    report.check(
      heapCapMb > 0 && heapCapMb <= mebibytes(limits.memory) / 2,
      `${name}: V8 heap cap ${heapCapMb} MB at most half its memory limit ${limits.memory}`,
    );
    report.check(podSecurity.runAsNonRoot === true && podSecurity.runAsUser > 0, `${name}: runs as non-root`);
    report.check(
      security.readOnlyRootFilesystem === true &&
        security.allowPrivilegeEscalation === false &&
        security.capabilities?.drop?.includes('ALL'),
      `${name}: read-only root filesystem, no privilege escalation, no capabilities`,
    );
    // preStop sleep, then the drain, then closing connections (bounded by the services at ~10 s).
    report.check(
      preStopSeconds > 0 && grace >= preStopSeconds + drainSeconds + 10,
      `${name}: preStop ${preStopSeconds}s + drain ${drainSeconds}s + close fits terminationGracePeriodSeconds ${grace}`,
    );
    const refs = app.envFrom ?? [];
    report.check(
      refs.some((r) => r.configMapRef && find('ConfigMap', r.configMapRef.name)) &&
        refs.some((r) => r.secretRef && find('Secret', r.secretRef.name)),
      `${name}: gets the ConfigMap and Secret that exist`,
    );
    report.check(!/:latest$/.test(app.image) && app.image.includes('/'), `${name}: overlay pins image ${app.image}`);

    const svc = find('Service', name);
    report.check(
      svc &&
        matches(svc.spec.selector, pod.metadata.labels) &&
        svc.spec.ports.every((p) => p.targetPort === 'http' && p.port === port),
      `${name}: Service selects its pods on port ${port}`,
    );
    const pdb = byKind('PodDisruptionBudget').find((p) => matches(p.spec.selector.matchLabels, pod.metadata.labels));
    report.check(Boolean(pdb), `${name}: has a PodDisruptionBudget`);
    const hpa = byKind('HorizontalPodAutoscaler').find((h) => h.spec.scaleTargetRef.name === name);
    if (name === 'expiry-worker') {
      report.check(!hpa && deploy.spec.replicas >= 2, `${name}: fixed ${deploy.spec.replicas} replicas`);
    } else {
      report.check(
        Boolean(hpa) && hpa.spec.scaleTargetRef.kind === 'Deployment' && hpa.spec.minReplicas >= 2,
        `${name}: autoscaled from ${hpa?.spec.minReplicas} to ${hpa?.spec.maxReplicas}`,
      );
      report.check(deploy.spec.replicas === undefined, `${name}: replica count left to the autoscaler`);
    }
  }

  const job = find('Job', 'zephyr-migrate');
  const migrated = (job?.spec.template.spec.containers ?? [])
    .filter((c) => c.command?.join(' ') === 'node dist/migrate.js')
    .map((c) => c.image.replace(/^.*\//, '').replace(/:.*$/, ''));
  report.check(
    migrated.sort().join() === 'event-service,seat-service',
    'migration Job runs event-service and seat-service migrations',
  );
  report.check(
    (job?.spec.template.spec.containers ?? []).every((c) => {
      const deployed = deployments.find((d) => d.metadata.name === c.name)?.spec.template.spec.containers[0].image;
      return deployed === c.image;
    }),
    'migration Job uses the same images as the Deployments',
  );

  // REST to the gateway; WebSocket handshakes on /ws straight to the notifier, on the same hosts and TLS.
  const ingresses = byKind('Ingress');
  const gatewayIngress = find('Ingress', 'gateway');
  const notifierIngress = find('Ingress', 'notifier');
  const routes = ingresses.flatMap((ing) =>
    ing.spec.rules.flatMap((r) => r.http.paths.map((p) => ({ ing, host: r.host, ...p }))),
  );
  const routeProblem = ({ ing, path, pathType, backend }) => {
    const service = find('Service', backend.service.name);
    if (!service?.spec.ports.some((p) => p.name === backend.service.port.name)) return `${path}: no such Service port`;
    const expected = path === '/ws' && pathType === 'Exact' ? 'notifier' : 'gateway';
    return backend.service.name === expected && ing.metadata.name === expected
      ? ''
      : `${ing.metadata.name} ${pathType} ${path} -> ${backend.service.name}`;
  };
  report.checkEach(
    'Ingress: /ws (Exact) to the notifier Service, everything else to the gateway',
    routes,
    routeProblem,
  );
  report.check(
    routes.some((r) => r.ing === gatewayIngress && r.path === '/' && r.pathType === 'Prefix') &&
      routes.some((r) => r.ing === notifierIngress && r.path === '/ws' && r.pathType === 'Exact'),
    'Ingress: both routes exist',
  );
  const hostsOf = (ing) => JSON.stringify([(ing?.spec.rules ?? []).map((r) => r.host).sort(), ing?.spec.tls ?? []]);
  report.check(
    gatewayIngress &&
      notifierIngress &&
      hostsOf(gatewayIngress) === hostsOf(notifierIngress) &&
      gatewayIngress.spec.ingressClassName === notifierIngress.spec.ingressClassName,
    'Ingress: the notifier route has the same hosts, TLS and class as the gateway route (one origin)',
  );
  const annotationsOf = (ing) => ing?.metadata.annotations ?? {};
  const annotation = (ing, name) => annotationsOf(ing)[`nginx.ingress.kubernetes.io/${name}`];
  report.checkEach('Ingress keeps WebSockets open for an hour', [gatewayIngress, notifierIngress], (ing) =>
    Number(annotation(ing, 'proxy-read-timeout')) >= 3600 && Number(annotation(ing, 'proxy-send-timeout')) >= 3600
      ? ''
      : ing?.metadata.name,
  );
  report.check(annotation(gatewayIngress, 'proxy-body-size') === '16k', 'Ingress body limit 16k');
  report.check(
    annotation(gatewayIngress, 'proxy-next-upstream') === 'error timeout',
    'Ingress: REST is retried on another gateway only when it could not be reached',
  );
  report.check(
    /\bhttp_503\b/.test(annotation(notifierIngress, 'proxy-next-upstream') ?? ''),
    'Ingress: a handshake a full or draining notifier refuses (503) is tried on another',
  );
  const perIp = ['limit-rps', 'limit-connections'].map((name) => Number(annotation(notifierIngress, name)));
  report.check(
    perIp.every((n) => Number.isInteger(n) && n > 0),
    `Ingress: per-address limits on the direct route (handshakes ${perIp[0]}/s, open sockets ${perIp[1]})`,
  );

  // Who may talk to whom: the NetworkPolicies must allow exactly these paths (docs/interfaces.md).
  const expected = new Set([
    'ingress-nginx/*->gateway',
    'ingress-nginx/*->notifier',
    'gateway->event-service',
    'gateway->seat-service',
    'gateway->notifier',
    'seat-service->event-service',
    'event-service->seat-service',
    'notifier->seat-service',
    'expiry-worker->seat-service',
    ...[...services.keys()].map((s) => `monitoring/prometheus->${s}`),
  ]);
  const policies = byKind('NetworkPolicy');
  report.check(
    policies.some(
      (p) => Object.keys(p.spec.podSelector).length === 0 && p.spec.policyTypes.includes('Ingress') && !p.spec.ingress,
    ),
    'default deny for ingress traffic',
  );
  const reachability = (candidates) => {
    const allowed = allowedCalls(candidates, services);
    return {
      missing: [...expected].filter((e) => !allowed.has(e)),
      extra: [...allowed].filter((a) => !expected.has(a)),
    };
  };
  const { missing, extra } = reachability(policies);
  report.check(missing.length === 0, 'NetworkPolicies allow every documented call', missing.join(', '));
  report.check(extra.length === 0, 'NetworkPolicies allow nothing else', extra.join(', '));
  // The comparison must bite: without the ingress controller's peer on the notifier, the route is missing.
  const withoutIngressToNotifier = JSON.parse(JSON.stringify(policies)).map((p) => {
    if (!selects(p.spec.podSelector, { 'app.kubernetes.io/name': 'notifier' })) return p;
    for (const rule of p.spec.ingress ?? []) rule.from = rule.from?.filter((peer) => !peer.namespaceSelector);
    return p;
  });
  report.check(
    reachability(withoutIngressToNotifier).missing.includes('ingress-nginx/*->notifier'),
    'self-test: the comparison reports ingress-nginx -> notifier missing when its policy peer is removed',
  );

  const secret = byKind('Secret')[0];
  const placeholder = Object.values(secret?.data ?? {}).some((v) =>
    Buffer.from(v, 'base64').toString().includes('CHANGE-ME'),
  );
  if (placeholder) report.note('the example overlay still carries placeholder secrets (expected for the example)');
}

/** An overlay's own Redis Cluster: stable node names the services are pointed at, cluster mode, reachable. */
function redisClusterCheck(label, objects) {
  const report = about(label);
  const find = (kind, name) => objects.find((o) => o.kind === kind && o.metadata.name === name);
  const set = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'redis-cluster');
  const service = find('Service', set.spec.serviceName);
  const pod = set.spec.template;
  const [redis] = pod.spec.containers;
  const argOf = (args, flag) => args[args.indexOf(flag) + 1];
  const nodes = Array.from(
    { length: set.spec.replicas },
    (_, i) => `${set.metadata.name}-${i}.${service?.metadata.name}`,
  );

  report.check(
    service?.spec.clusterIP === 'None' &&
      service.spec.publishNotReadyAddresses === true &&
      Object.entries(service.spec.selector).every(([k, v]) => pod.metadata.labels[k] === v),
    `redis-cluster: headless Service ${set.spec.serviceName} names every pod, ready or not`,
  );
  const ports = Object.fromEntries(redis.ports.map((p) => [p.name, p.containerPort]));
  report.check(
    ports.client === Number(argOf(redis.args, '--port')) && ports.bus === ports.client + 10000,
    `redis-cluster: client port ${ports.client}, bus port ${ports.bus}`,
  );
  report.check(
    argOf(redis.args, '--cluster-enabled') === 'yes' &&
      argOf(redis.args, '--appendonly') === 'yes' &&
      argOf(redis.args, '--cluster-preferred-endpoint-type') === 'hostname' &&
      argOf(redis.args, '--cluster-announce-hostname') === `$(POD_NAME).${service?.metadata.name}` &&
      redis.env?.some((e) => e.name === 'POD_NAME' && e.valueFrom?.fieldRef?.fieldPath === 'metadata.name'),
    'redis-cluster: cluster mode, AOF, each node announces its own DNS name',
  );
  const dataMount = redis.volumeMounts?.find((m) => m.mountPath === argOf(redis.args, '--dir'));
  report.check(
    set.spec.volumeClaimTemplates?.some((t) => t.metadata.name === dataMount?.name),
    'redis-cluster: --dir on a volume per pod',
  );
  report.check(
    pod.spec.securityContext?.runAsNonRoot === true &&
      redis.securityContext?.readOnlyRootFilesystem === true &&
      redis.securityContext?.allowPrivilegeEscalation === false &&
      redis.securityContext?.capabilities?.drop?.includes('ALL') &&
      Boolean(redis.resources?.requests && redis.resources?.limits && redis.readinessProbe && redis.livenessProbe),
    'redis-cluster: non-root, read-only, no capabilities, resources and probes',
  );

  const job = find('Job', 'redis-cluster-create');
  const create = job?.spec.template.spec.containers[0];
  const listed = (create?.env?.find((e) => e.name === 'NODES')?.value ?? '').split(/\s+/).filter(Boolean);
  const script = [create?.command, create?.args].flat().join(' ');
  const replicas = Number(/--cluster-replicas (\d+)/.exec(script)?.[1]);
  report.check(
    listed.join(' ') === nodes.join(' ') && /\$NODES/.test(script),
    `redis-cluster-create joins every pod (${listed.length} of ${nodes.length})`,
  );
  report.check(
    replicas >= 1 && nodes.length / (replicas + 1) >= 3 && Number.isInteger(nodes.length / (replicas + 1)),
    `redis-cluster-create: ${nodes.length / (replicas + 1)} masters with ${replicas} replica(s) each`,
  );
  report.check(create?.image === redis.image, "redis-cluster-create uses the nodes' image");

  const config = objects.find((o) => o.kind === 'ConfigMap')?.data ?? {};
  const seeds = String(config.REDIS_CLUSTER_NODES ?? '').split(',');
  report.check(
    seeds.length > 0 && seeds.every((seed) => nodes.map((n) => `${n}:${ports.client}`).includes(seed)),
    `REDIS_CLUSTER_NODES are nodes of this cluster (${config.REDIS_CLUSTER_NODES})`,
  );
  report.check(
    objects.some(
      (o) =>
        o.kind === 'PodDisruptionBudget' &&
        Object.entries(o.spec.selector.matchLabels).every(([k, v]) => pod.metadata.labels[k] === v),
    ),
    'redis-cluster: has a PodDisruptionBudget',
  );

  // Who reaches the nodes: every Redis user and the create Job on the client port, the nodes on the bus.
  const reaches = (from, portName) =>
    objects
      .filter((o) => o.kind === 'NetworkPolicy')
      .filter((o) =>
        Object.entries(o.spec.podSelector.matchLabels ?? {}).every(([k, v]) => pod.metadata.labels[k] === v),
      )
      .flatMap((o) => o.spec.ingress ?? [])
      .some(
        (rule) =>
          (rule.ports ?? []).some((p) => p.port === portName) &&
          (rule.from ?? []).some((peer) => {
            const selector = peer.podSelector ?? {};
            const labels = { 'app.kubernetes.io/name': from };
            return (
              Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v) &&
              (selector.matchExpressions ?? []).every((e) => e.operator === 'In' && e.values.includes(from))
            );
          }),
      );
  const clients = ['seat-service', 'expiry-worker', 'gateway', 'redis-cluster-create'];
  report.checkEach('NetworkPolicies let Redis users and the create Job reach the nodes', clients, (name) =>
    reaches(name, 'client') ? '' : name,
  );
  report.check(reaches('redis-cluster', 'bus'), 'NetworkPolicies let the nodes reach each other on the bus');
}

async function main() {
  const args = process.argv.slice(2);
  const split = args.indexOf('--schema-only');
  const overlays = split < 0 ? args : args.slice(0, split);
  const schemaOnly = split < 0 ? [] : args.slice(split + 1);
  const label = (file) => file.replace(/^.*\//, '').replace(/\.yaml$/, '');
  for (const file of [...overlays, ...schemaOnly]) {
    const objects = load(file);
    await schemaCheck(label(file), objects);
    strictCheck(label(file), objects);
    if (!overlays.includes(file)) continue;
    policyCheck(label(file), objects);
    if (objects.some((o) => o.kind === 'StatefulSet' && o.metadata.name === 'redis-cluster')) {
      redisClusterCheck(label(file), objects);
    }
  }
}

main()
  .catch((err) => report.fail(err.stack))
  .finally(() => report.finish());
