import net from 'node:net';

/**
 * A TCP relay between Tally and a PostgreSQL server that can fall silent, as a network that drops
 * packets does (a partition, a failover that moves the server's address, a firewall): connections
 * stay open, and nothing arrives, in either direction, not even a refusal. `heal` ends the silenced
 * connections (a partition that lasted past TCP's patience) and relays new ones again.
 */
export interface SilentProxy {
  /** A postgresql:// URL that reaches the server through the relay. */
  url: string;
  silence(): unknown;
  heal(): void;
  close(): Promise<void>;
}

export async function startSilentProxy(serverUrl: string): Promise<SilentProxy> {
  const target = new URL(serverUrl);
  let silent = false;
  const pairs = new Set<[net.Socket, net.Socket]>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const [from, to] of [pair, [upstream, client]]) {
      from.on('data', (chunk) => silent || to.write(chunk));
      from.on('error', end);
      from.on('close', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(serverUrl);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as net.AddressInfo).port);
  const heal = () => {
    for (const [client, upstream] of pairs) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
    silent = false;
  };
  return {
    url: url.toString(),
    silence: () => (silent = true),
    heal,
    async close() {
      heal();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
