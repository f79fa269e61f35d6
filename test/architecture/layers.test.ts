/**
 * The house rules that a reader would otherwise have to check by eye (ARCHITECTURE.md, docs/architecture.md):
 * every service has the same rooms, and a domain file imports only its own service's domain, the contracts
 * and `@zephyr/runtime/errors`, so the rules can be read, tested and reused without any I/O library.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');
const servicesDir = path.join(root, 'services');
const services = readdirSync(servicesDir).filter((name) => statSync(path.join(servicesDir, name)).isDirectory());

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Static imports, re-exports, dynamic imports and requires: every way a module can pull in another. */
function importedSpecifiers(source: string): string[] {
  const patterns = [
    /\bimport\s+(?:type\s+)?(?:[\w*{}\s,$]+\s+from\s+)?['"]([^'"]+)['"]/g,
    /\bexport\s+(?:type\s+)?[\w*{}\s,$]+\s+from\s+['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((match) => match[1]));
}

const PACKAGES_A_DOMAIN_MAY_USE = [/^@zephyr\/contracts(\/|$)/, /^@zephyr\/runtime\/errors$/];
/** A unit test beside domain code may also use the shared test helpers; it still touches no other layer. */
const PACKAGES_A_DOMAIN_TEST_MAY_ALSO_USE = [/^@zephyr\/testing$/];

function domainImportViolations(service: string): string[] {
  const domainDir = path.join(servicesDir, service, 'src', 'domain');
  return filesUnder(domainDir).flatMap((file) => {
    const isTest = file.endsWith('.test.ts');
    return importedSpecifiers(readFileSync(file, 'utf8'))
      .filter((specifier) => {
        if (specifier.startsWith('.')) {
          const target = path.resolve(path.dirname(file), specifier);
          return !target.startsWith(domainDir + path.sep);
        }
        const allowed = isTest
          ? [...PACKAGES_A_DOMAIN_MAY_USE, ...PACKAGES_A_DOMAIN_TEST_MAY_ALSO_USE]
          : PACKAGES_A_DOMAIN_MAY_USE;
        return !allowed.some((pattern) => pattern.test(specifier));
      })
      .map((specifier) => `${path.relative(root, file)} imports ${specifier}`);
  });
}

describe('layers', () => {
  it('finds the imports it checks (a parser that sees nothing would pass everything)', () => {
    const sample = [
      "import { a } from './a';",
      "import type { B } from '@zephyr/runtime';",
      "import * as c from 'node:crypto';",
      "import 'side-effect';",
      "export { d } from '../d';",
      "const e = require('e');",
      "const f = await import('f');",
      'import {\n  g,\n  type H,\n} from "g-module";',
    ].join('\n');
    expect(importedSpecifiers(sample)).toEqual(
      expect.arrayContaining(['./a', '@zephyr/runtime', 'node:crypto', 'side-effect', '../d', 'e', 'f', 'g-module']),
    );
  });

  it.each(services)('%s has the same rooms as every service', (service) => {
    const src = path.join(servicesDir, service, 'src');
    for (const room of [
      'domain',
      'data-access',
      'entry-points',
      'app.ts',
      'config.ts',
      'main.ts',
      'metrics.ts',
      'service.ts',
    ]) {
      expect([service, room, statSync(path.join(src, room), { throwIfNoEntry: false }) !== undefined]).toEqual([
        service,
        room,
        true,
      ]);
    }
  });

  it.each(services)('%s: domain code imports only its own domain, the contracts and runtime/errors', (service) => {
    expect(domainImportViolations(service)).toEqual([]);
  });
});
