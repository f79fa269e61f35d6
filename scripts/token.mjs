// Mints a local HS256 token: npm run token -- --user <uuid> [--admin] [--ttl seconds]
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { ROOT, build, ensureInstall } from './ensure-install.mjs';
import { localJwtSecret } from './local-secret.mjs';

const { values } = parseArgs({
  options: {
    user: { type: 'string' },
    admin: { type: 'boolean', default: false },
    ttl: { type: 'string', default: '3600' },
  },
});
const userId = values.user ?? randomUUID();
if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(userId)) {
  console.error('token: --user must be a UUID');
  process.exit(2);
}
const found = localJwtSecret({ create: false });
if (!found) {
  console.error(
    'token: no JWT_SECRET in the environment and no .zephyr-local.env yet (run npm start once, or set JWT_SECRET)',
  );
  process.exit(2);
}
ensureInstall();
const runtimeDist = path.join(ROOT, 'packages', 'runtime', 'dist', 'index.js');
if (!existsSync(runtimeDist)) build();
const { mintToken } = createRequire(import.meta.url)(runtimeDist);
const token = await mintToken({
  secret: found.secret,
  userId,
  admin: values.admin,
  expiresInSeconds: Number(values.ttl),
  issuer: process.env.JWT_ISSUER,
  audience: process.env.JWT_AUDIENCE,
});
if (!values.user) console.error(`token: no --user given; minted for ${userId}`);
console.log(token);
