import net from 'node:net';
import { freePort, portsInUse } from './index';

const listen = (port: number, host: string) =>
  new Promise<net.Server>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });

it('sees ports held by listeners on IPv4 and IPv6, and hands out none of them', async () => {
  const v4 = await listen(0, '127.0.0.1');
  const v6 = await listen(0, '::1').catch(() => undefined); // a host without IPv6 still tests IPv4
  try {
    const used = portsInUse();
    expect(used.has((v4.address() as net.AddressInfo).port)).toBe(true);
    if (v6) expect(used.has((v6.address() as net.AddressInfo).port)).toBe(true);
    for (let i = 0; i < 50; i++) expect(portsInUse().has(freePort())).toBe(false);
  } finally {
    v4.close();
    v6?.close();
  }
});
