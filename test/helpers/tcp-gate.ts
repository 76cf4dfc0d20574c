// A plain TCP forwarder that can be shut and opened again: shut, it drops every connection
// through it and refuses new ones (what a client sees when its own link to a server breaks
// while everyone else's stays up).
import net, { type AddressInfo } from 'node:net';

export interface TcpGate {
  /** 127.0.0.1:<gate port>, as a redis:// URL. */
  redisUrl: string;
  shut(): void;
  open(): void;
  close(): Promise<void>;
}

export async function startTcpGate(target: { host: string; port: number }): Promise<TcpGate> {
  const sockets = new Set<net.Socket>();
  let shut = false;
  const server = net.createServer((client) => {
    if (shut) return void client.destroy();
    const upstream = net.connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    redisUrl: `redis://127.0.0.1:${port}`,
    shut: () => {
      shut = true;
      for (const s of sockets) s.destroy();
    },
    open: () => {
      shut = false;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
