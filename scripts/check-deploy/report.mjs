// Shared by the check-deploy helpers: one line per check, a non-zero exit when any failed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const repoRoot = process.env.REPO_ROOT ?? process.cwd();

export function repoPath(...parts) {
  return join(repoRoot, ...parts);
}

export function readRepoFile(...parts) {
  return readFileSync(repoPath(...parts), 'utf8');
}

export function createReport(section) {
  let passed = 0;
  let failed = 0;
  return {
    ok(message) {
      passed += 1;
      console.log(`  ok    ${section}: ${message}`);
    },
    fail(message) {
      failed += 1;
      console.log(`  FAIL  ${section}: ${message}`);
    },
    /** Records a check that passes when `condition` holds. */
    check(condition, message, why = '') {
      if (condition) this.ok(message);
      else this.fail(why ? `${message} (${why})` : message);
    },
    /** One line for a check over many items: `problem(item)` returns what is wrong with it, or ''. */
    checkEach(message, items, problem) {
      const problems = items.map(problem).filter(Boolean);
      this.check(problems.length === 0, `${message} (${items.length})`, problems.join('; '));
    },
    note(message) {
      console.log(`  note  ${section}: ${message}`);
    },
    /** Writes the counts for check-deploy.sh and exits non-zero when something failed. */
    finish() {
      if (process.env.CHECK_DEPLOY_COUNTS) {
        console.log(`##counts ${passed} ${failed}`);
      }
      process.exitCode = failed > 0 ? 1 : 0;
    },
  };
}

/**
 * REDIS_CLUSTER_NODES as the services accept it (packages/runtime envRules.redisClusterNodes): empty for a
 * single Redis node, else `host:port,host:port` seed nodes of a Redis Cluster.
 */
export const redisClusterNodesValid = (value) =>
  value === undefined ||
  value === '' ||
  /^(\[[0-9A-Fa-f:.]+\]|[^\s,/:[\]]+):\d{1,5}(,(\[[0-9A-Fa-f:.]+\]|[^\s,/:[\]]+):\d{1,5})*$/.test(String(value));

/** The service table of docs/interfaces.md: name -> port. The deployment files must agree with it. */
export function documentedServices() {
  const doc = readRepoFile('docs', 'interfaces.md');
  const services = new Map();
  for (const match of doc.matchAll(/^\|\s*([a-z-]+)\s*\|\s*(\d{4})\s*\|\s*`node dist\/main\.js`\s*\|/gm)) {
    services.set(match[1], Number(match[2]));
  }
  return services;
}

/** Metric names listed in docs/interfaces.md (domain metrics plus the RED pair). */
export function documentedMetrics() {
  const doc = readRepoFile('docs', 'interfaces.md');
  const section = doc.slice(doc.indexOf('## Metrics'));
  return new Set([...section.matchAll(/`((?:zephyr|http)_[a-z0-9_]+)/g)].map((m) => m[1]));
}
