import { ConfigError } from '@zephyr/runtime';
import { loadConfig } from './config';

const secret = 'x'.repeat(32);

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    expect(loadConfig({ JWT_SECRET: secret })).toEqual({
      PORT: 3001,
      LOG_LEVEL: 'info',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/zephyr',
      AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
      AMQP_EXCHANGE: 'zephyr.domain',
      SEAT_SERVICE_URL: 'http://127.0.0.1:3002',
      MIGRATE_ON_START: true,
      SHUTDOWN_DRAIN_MS: 5000,
      JWT_SECRET: secret,
    });
  });

  it('accepts a JWKS URL instead of a secret, and MIGRATE_ON_START=false', () => {
    const config = loadConfig({
      JWT_JWKS_URL: 'https://issuer.example/jwks.json',
      MIGRATE_ON_START: 'false',
      PATH: '/usr/bin',
    });
    expect(config.JWT_JWKS_URL).toBe('https://issuer.example/jwks.json');
    expect(config.MIGRATE_ON_START).toBe(false);
  });

  it('names every bad variable at once', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'http', DATABASE_URL: 'mysql://x', JWT_SECRET: 'short', SHUTDOWN_DRAIN_MS: '-1' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const name of ['PORT', 'DATABASE_URL', 'JWT_SECRET', 'SHUTDOWN_DRAIN_MS']) expect(message).toContain(name);
    expect(message).not.toContain('\n');
  });

  it('requires JWT_SECRET or JWT_JWKS_URL', () => {
    expect(() => loadConfig({})).toThrow(/JWT_SECRET \(at least 32 characters\) or JWT_JWKS_URL is required/);
  });
});
