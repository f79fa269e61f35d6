import net from 'node:net';
import { endpointOf, planBacking, type BackingProbe } from './backing-plan';
import { probeBacking } from './global-setup';

const probe = (name: BackingProbe['name'], answers: boolean): BackingProbe => ({
  name,
  url: {
    postgres: 'postgres://127.0.0.1:5432/postgres',
    redis: 'redis://127.0.0.1:6379',
    rabbitmq: 'amqp://127.0.0.1:5672',
  }[name],
  answers,
});

describe('planBacking', () => {
  it('uses the configured services when all of them answer, Docker or not', () => {
    const all = [probe('postgres', true), probe('redis', true), probe('rabbitmq', true)];
    expect(planBacking(all, true)).toEqual({ kind: 'use-configured' });
    expect(planBacking(all, false)).toEqual({ kind: 'use-configured' });
  });

  it('starts containers for exactly the services that do not answer when a Docker engine is present', () => {
    expect(planBacking([probe('postgres', true), probe('redis', false), probe('rabbitmq', false)], true)).toEqual({
      kind: 'start-containers',
      names: ['redis', 'rabbitmq'],
    });
  });

  it('fails with a message naming each missing service, its URL and variable, when there is no Docker', () => {
    const plan = planBacking([probe('postgres', false), probe('redis', true), probe('rabbitmq', false)], false);
    expect(plan.kind).toBe('fail');
    const message = plan.kind === 'fail' ? plan.message : '';
    expect(message).toContain('postgres at postgres://127.0.0.1:5432/postgres (TEST_POSTGRES_URL)');
    expect(message).toContain('rabbitmq at amqp://127.0.0.1:5672 (AMQP_URL)');
    expect(message).not.toContain('REDIS_URL');
    expect(message).toMatch(/Docker engine/);
  });
});

describe('endpointOf', () => {
  it('reads host and port, defaulting the port by scheme', () => {
    expect(endpointOf('postgres://postgres@db.local/x')).toEqual({ host: 'db.local', port: 5432 });
    expect(endpointOf('amqp://guest:guest@127.0.0.1:5673')).toEqual({ host: '127.0.0.1', port: 5673 });
    expect(endpointOf('redis://127.0.0.1')).toEqual({ host: '127.0.0.1', port: 6379 });
  });
});

describe('probeBacking', () => {
  it('tells a listening port from a closed one', async () => {
    const server = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    try {
      const [open] = await probeBacking([{ name: 'redis', url: `redis://127.0.0.1:${port}` }]);
      expect(open!.answers).toBe(true);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    const [closed] = await probeBacking([{ name: 'redis', url: `redis://127.0.0.1:${port}` }]);
    expect(closed!.answers).toBe(false);
  });
});
