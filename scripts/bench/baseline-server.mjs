// The baseline of the same run: bare express + one Redis Lua call per request (no auth, no events).
import { createRequire } from 'node:module';
import path from 'node:path';
import { ROOT } from '../ensure-install.mjs';

const require = createRequire(path.join(ROOT, 'services', 'gateway', 'package.json'));
const express = require('express');
const Redis = require('ioredis');

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { keyPrefix: process.env.PREFIX });
redis.defineCommand('holdSeat', {
  numberOfKeys: 1,
  lua: `if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return 1`,
});
const app = express();
app.post('/hold/:event/:seat', async (req, res) => {
  const ok = await redis.holdSeat(`seats:${req.params.event}`, req.params.seat, 'u');
  res.status(ok ? 201 : 409).json({ ok: ok === 1 });
});
app.listen(Number(process.env.PORT), () => process.send?.('ready'));
