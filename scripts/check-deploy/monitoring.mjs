// monitoring/: the dashboard and alert rules use only metrics the services document, the dashboard
// shows what an on-sale needs, and its queries are handed to promtool as rules so PromQL gets parsed.
// Usage: node monitoring.mjs <dir>. Writes into <dir>, for promtool: dashboard-queries.yml (the panels'
// queries as recording rules) and copies of the Prometheus configs that point at this checkout.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { createReport, documentedMetrics, readRepoFile, repoPath } from './report.mjs';

const report = createReport('monitoring');
const [outDir] = process.argv.slice(2);
const documented = documentedMetrics();
// Series every Prometheus target has, and prom-client's Node.js defaults.
const builtIn = (name) => name === 'up' || /^(nodejs|process)_/.test(name);

/** Metric names in a PromQL expression: identifiers left once strings, matchers, ranges and label lists are gone. */
function metricNames(expr) {
  const bare = expr
    .replace(/"[^"]*"/g, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const names = new Set();
  for (const [name] of bare.matchAll(/\b[a-zA-Z_:][a-zA-Z0-9_:]*\b(?!\s*\()/g)) {
    if (!/^(and|or|unless|bool|offset)$/.test(name)) names.add(name.replace(/_(bucket|sum|count)$/, ''));
  }
  return names;
}

/** Names used in `exprs` that docs/interfaces.md does not list, for one-line reports. */
function undocumented(exprs) {
  const names = new Set(exprs.flatMap((expr) => [...metricNames(expr)]));
  return [...names].filter((name) => !documented.has(name) && !builtIn(name));
}

// Dashboard.
const dashboardFile = 'zephyr-onsale.json';
let dashboard;
try {
  dashboard = JSON.parse(readRepoFile('monitoring', 'grafana', 'dashboards', dashboardFile));
  report.ok(`${dashboardFile} is valid JSON`);
} catch (err) {
  report.fail(`${dashboardFile} does not parse: ${err.message}`);
  report.finish();
  process.exit();
}
const panels = dashboard.panels ?? [];
const ids = panels.map((p) => p.id);
report.check(typeof dashboard.uid === 'string' && dashboard.title, 'dashboard has uid and title');
report.check(new Set(ids).size === ids.length, 'panel ids are unique');
report.checkEach('panels fit the 24-column grid', panels, ({ gridPos: g, title }) =>
  g && g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0 ? '' : title,
);
const cells = new Set();
let overlaps = 0;
for (const { gridPos: g } of panels) {
  for (let x = g.x; x < g.x + g.w; x += 1) {
    for (let y = g.y; y < g.y + g.h; y += 1) {
      if (cells.has(`${x},${y}`)) overlaps += 1;
      cells.add(`${x},${y}`);
    }
  }
}
report.check(overlaps === 0, 'panels do not overlap');

const datasourceVar = dashboard.templating?.list?.find((v) => v.type === 'datasource');
const provisioned = parse(readRepoFile('monitoring', 'grafana', 'provisioning', 'datasources', 'prometheus.yml'));
report.check(
  datasourceVar?.current?.value === provisioned.datasources[0].uid,
  `dashboard defaults to the provisioned datasource (${provisioned.datasources[0].uid})`,
);

const dataPanels = panels.filter((p) => p.type !== 'row');
report.checkEach('panels use the datasource variable', dataPanels, (p) =>
  p.datasource?.uid === '${datasource}' ? '' : p.title,
);
report.checkEach('panels have queries', dataPanels, (p) =>
  (p.targets ?? []).every((t) => t.expr) && p.targets?.length ? '' : p.title,
);
const queries = dataPanels.flatMap((panel) =>
  (panel.targets ?? []).map((target) => ({
    record: `dashboard:panel_${panel.id}_${target.refId}`,
    expr: target.expr.replaceAll('$__rate_interval', '1m'),
  })),
);
const unknownInDashboard = undocumented(queries.map((q) => q.expr));
report.check(
  unknownInDashboard.length === 0,
  'dashboard queries use documented metrics only',
  unknownInDashboard.join(', '),
);
const used = new Set(queries.flatMap((q) => [...metricNames(q.expr)]));
const onSale = {
  'holds/s': 'zephyr_seat_holds_total',
  'reservations/s': 'zephyr_seat_reservations_total',
  'latency per route': 'http_request_duration_seconds',
  'expiry lag': 'zephyr_expiry_lag_seconds',
  'outbox backlog': 'zephyr_outbox_backlog',
  'WebSocket connections': 'zephyr_ws_connections',
  'messages pushed': 'zephyr_ws_messages_pushed_total',
};
for (const [what, metric] of Object.entries(onSale)) report.check(used.has(metric), `dashboard shows ${what}`);
report.check(
  queries.some((q) => q.expr.includes('status="409"')),
  'dashboard shows the 409 rate',
);
report.check(
  queries.some((q) => /histogram_quantile\(0\.99, sum by \([^)]*route/.test(q.expr)),
  'dashboard shows p99 latency per route',
);
writeFileSync(
  join(outDir, 'dashboard-queries.yml'),
  stringify({ groups: [{ name: 'dashboard-queries', rules: queries }] }),
);

// Alert rules: structure (promtool checks PromQL and behaviour separately).
for (const file of readdirSync(repoPath('monitoring', 'alerts')).filter((f) => f.endsWith('.rules.yml'))) {
  const rules = parse(readRepoFile('monitoring', 'alerts', file)).groups.flatMap((g) => g.rules);
  report.checkEach(`${file}: alerts have expr, severity and summary`, rules, (rule) =>
    rule.alert && rule.expr && ['critical', 'warning'].includes(rule.labels?.severity) && rule.annotations?.summary
      ? ''
      : (rule.alert ?? '(unnamed)'),
  );
  const unknownInRules = undocumented(rules.map((r) => r.expr));
  report.check(unknownInRules.length === 0, `${file}: alerts use documented metrics only`, unknownInRules.join(', '));
  const names = rules.map((r) => r.alert);
  const wanted = [
    'ZephyrServiceDown',
    'ZephyrHigh5xxRate',
    'ZephyrExpiryLagHigh',
    'ZephyrOutboxBacklogHigh',
    'ZephyrOutboxBacklogGrowing',
  ];
  report.checkEach(`${file}: service down, 5xx, expiry lag and outbox alerts exist`, wanted, (w) =>
    names.includes(w) ? '' : w,
  );
}

// Prometheus configs for promtool: rule files from this checkout instead of the container's mount. Debian's
// promtool is built without Kubernetes discovery, so that block becomes a static target; the relabelling
// and everything else are still checked.
for (const file of ['prometheus.yml', 'prometheus-kubernetes.yml']) {
  const config = parse(readRepoFile('monitoring', file));
  config.rule_files = config.rule_files.map((glob) =>
    glob.replace('/etc/prometheus/alerts/', repoPath('monitoring', 'alerts') + '/'),
  );
  for (const job of config.scrape_configs) {
    if (job.kubernetes_sd_configs) {
      report.check(
        job.kubernetes_sd_configs.every((sd) => sd.role === 'pod' && sd.namespaces.names.includes('zephyr')),
        `${file}: ${job.job_name} discovers pods in namespace zephyr`,
      );
      delete job.kubernetes_sd_configs;
      job.static_configs = [{ targets: ['pod.example:3000'] }];
    }
  }
  writeFileSync(join(outDir, file), stringify(config));
}

report.finish();
