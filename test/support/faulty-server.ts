import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A request handler of a misbehaving authorization server. */
export type Behaviour = (req: IncomingMessage, res: ServerResponse, body: string) => void | Promise<void>;

/**
 * A real HTTP server on 127.0.0.1 that misbehaves on demand (slow, 500, 429, HTML, huge bodies, ...),
 * for fault injection without mocking the HTTP client. Counts requests.
 */
export class FaultyServer {
  requests = 0;
  readonly bodies: string[] = [];
  behaviour: Behaviour;
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    behaviour: Behaviour,
  ) {
    this.behaviour = behaviour;
  }

  static async start(behaviour: Behaviour): Promise<FaultyServer> {
    const server = createServer();
    const faulty = new FaultyServer(server, behaviour);
    server.on('connection', (s) => {
      faulty.sockets.add(s);
      s.on('close', () => faulty.sockets.delete(s));
    });
    server.on('request', (req, res) => {
      faulty.requests++;
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        faulty.bodies.push(body);
        void Promise.resolve(faulty.behaviour(req, res, body)).catch(() => res.destroy());
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return faulty;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/introspect`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Behaviours used across suites. */
export const behave = {
  json:
    (body: unknown, status = 200, headers: Record<string, string> = {}): Behaviour =>
    (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    },
  status:
    (status: number, headers: Record<string, string> = {}): Behaviour =>
    (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end('{"error":"server_error"}');
    },
  html: (): Behaviour => (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html><body>Login page of a proxy</body></html>');
  },
  huge:
    (bytes: number): Behaviour =>
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      res.write('{"active":true,"pad":"');
      let sent = 0;
      const pump = () => {
        while (sent < bytes) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end('"}');
      };
      res.on('error', () => undefined);
      pump();
    },
  delay:
    (ms: number, then: Behaviour): Behaviour =>
    (req, res, body) =>
      new Promise<void>((resolve) =>
        setTimeout(() => {
          if (!res.destroyed) void then(req, res, body);
          resolve();
        }, ms),
      ),
};
