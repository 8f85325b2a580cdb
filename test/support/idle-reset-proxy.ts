import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP middlebox on 127.0.0.1 in front of the real AS, behaving like an AWS NAT gateway / NLB or a stateful
 * firewall: a flow idle for longer than `idleMs` is forgotten silently (no FIN, no RST while idle), and the next
 * packet the client sends on it is answered with an RST. The AS itself is healthy throughout: a fresh connection
 * is forwarded normally. With `idleMs` below the agent's idle-connection timeout, the pool keeps such sockets, so the
 * next lookups write on dead flows and get ECONNRESET ("socket hang up"-class errors), then succeed on new ones.
 */
export class IdleResetProxy {
  resets = 0;
  connections = 0;
  /** Reset every flow at its first packet after this is set, fresh or not (an L4 balancer with no live backend). */
  resetEverything = false;
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly targetPort: number,
    private readonly idleMs: number,
  ) {}

  static async start(targetPort: number, idleMs: number): Promise<IdleResetProxy> {
    const proxy = new IdleResetProxy(targetPort, idleMs);
    proxy.server = createServer((client) => {
      proxy.connections++;
      proxy.sockets.add(client);
      let last = Date.now();
      const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
      proxy.sockets.add(upstream);
      client.on('data', (chunk) => {
        if (proxy.resetEverything || Date.now() - last > idleMs) {
          // The middlebox forgot this flow: RST to the client, the AS never sees the request.
          proxy.resets++;
          client.resetAndDestroy();
          upstream.destroy();
          return;
        }
        last = Date.now();
        upstream.write(chunk);
      });
      upstream.on('data', (chunk) => {
        last = Date.now();
        client.write(chunk);
      });
      const drop = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop).on('close', () => (upstream.destroy(), proxy.sockets.delete(client)));
      upstream.on('error', drop).on('close', () => (client.destroy(), proxy.sockets.delete(upstream)));
    });
    await new Promise<void>((resolve) => proxy.server!.listen(0, '127.0.0.1', () => resolve()));
    return proxy;
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}${path}`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}
