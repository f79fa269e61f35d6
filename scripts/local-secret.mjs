// The local JWT secret for `npm start` and `npm run token`: an explicit JWT_SECRET always wins; otherwise a
// random one is created once and kept in the git-ignored .zephyr-local.env so tokens survive restarts.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './ensure-install.mjs';

export const LOCAL_ENV_FILE = path.join(ROOT, '.zephyr-local.env');

export function localJwtSecret({ create }) {
  if (process.env.JWT_SECRET) return { secret: process.env.JWT_SECRET, source: 'JWT_SECRET' };
  if (existsSync(LOCAL_ENV_FILE)) {
    const match = /^JWT_SECRET=(.+)$/m.exec(readFileSync(LOCAL_ENV_FILE, 'utf8'));
    if (match) return { secret: match[1].trim(), source: LOCAL_ENV_FILE };
  }
  if (!create) return undefined;
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(
    LOCAL_ENV_FILE,
    `# Local development secret created by npm start; not for production.\nJWT_SECRET=${secret}\n`,
    { mode: 0o600 },
  );
  return { secret, source: LOCAL_ENV_FILE, created: true };
}
