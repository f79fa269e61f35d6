import Joi from 'joi';
import { ConfigError, DEFAULT_REDIS_URL, envRules, loadEnv } from './config';

interface Sample {
  PORT: number;
  REDIS_URL: string;
  ENABLED: boolean;
  PREFIX: string;
}

const schema = Joi.object<Sample>({
  PORT: envRules.port(3000),
  REDIS_URL: envRules.redisUrl(),
  ENABLED: envRules.bool(false),
  PREFIX: envRules.keyPrefix(),
});

describe('loadEnv', () => {
  it('applies defaults, converts text to numbers and booleans, and ignores unrelated variables', () => {
    const config = loadEnv('sample', schema, { PORT: '8080', ENABLED: '1', HOME: '/root', PREFIX: '' });
    expect(config).toEqual({ PORT: 8080, REDIS_URL: DEFAULT_REDIS_URL, ENABLED: true, PREFIX: '' });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reports every bad variable at once, naming the service', () => {
    let thrown: unknown;
    try {
      loadEnv('sample', schema, { PORT: '70000', REDIS_URL: 'http://x', ENABLED: 'maybe', PREFIX: 'a b' });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const error = thrown as ConfigError;
    expect(error.service).toBe('sample');
    expect(error.problems.map((p) => p.split(':')[0]).sort()).toEqual(['ENABLED', 'PORT', 'PREFIX', 'REDIS_URL']);
    expect(error.message).toMatch(/^sample: invalid configuration: /);
  });

  it('treats an empty value as unset', () => {
    expect(loadEnv('sample', schema, { PORT: '' }).PORT).toBe(3000);
  });
});

describe('envRules', () => {
  it.each([
    [envRules.httpUrlList('http://a:1'), 'http://a:1,https://b:2', true],
    [envRules.httpUrlList('http://a:1'), 'http://a:1, http://b:2', false],
    [envRules.name('x'), 'zephyr.events', true],
    [envRules.name('x'), 'bad name', false],
    [envRules.positiveInt(1), 0, false],
    [envRules.nonNegativeInt(1), 0, true],
    [envRules.jwtSecret(), 'short', false],
  ] as const)('rule %#: %j → %s', (rule, value, valid) => {
    expect(rule.validate(value).error === undefined).toBe(valid);
  });
});
