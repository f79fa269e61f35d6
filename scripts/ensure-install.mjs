// Installs workspace dependencies when node_modules is missing or older than the lockfile.
import { execSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const PNPM = 'npx -y pnpm@10.34.9';

export function ensureInstall() {
  const marker = path.join(ROOT, 'node_modules', '.modules.yaml');
  const lock = path.join(ROOT, 'pnpm-lock.yaml');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  console.log('zephyr: installing dependencies (pnpm install --frozen-lockfile)...');
  execSync(`${PNPM} install --frozen-lockfile`, { cwd: ROOT, stdio: 'inherit' });
}

export function build() {
  console.log('zephyr: building (tsc -b)...');
  execSync(path.join(ROOT, 'node_modules', '.bin', 'tsc') + ' -b', { cwd: ROOT, stdio: 'inherit' });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) ensureInstall();
