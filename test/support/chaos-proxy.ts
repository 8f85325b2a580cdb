import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type ChaosMode = 'ok' | 'down' | 'slow' | 'error500' | 'error503' | 'error429' | 'garbage' | 'delay' | 'blackhole';

/**
 * A real HTTP server on 127.0.0.1 in front of a real authorization server: forwards requests in
 * mode `ok`, and misbehaves on demand — refuses connections (`down`), hangs 5 s (`slow`), never answers
 * (`blackhole`: accepts the request and holds it until the client gives up or the proxy stops), answers
 * 500, 503 (no Retry-After), 429 + Retry-After, or an HTML page with status 200 (`garbage`), or forwards
 * after `delayMs` (`delay`). `modeFor` picks the mode of each request instead (a partially failing AS:
 * one node of several behind a load balancer), except `down`, which only `setMode` can do.
 */
export class ChaosProxy {
  mode: ChaosMode = 'ok';
  /** For mode `delay`: how long each request is held before it is forwarded, milliseconds. */
  delayMs = 300;
  /** Requests received (answered or not) since start: what a test counts as calls reaching the AS's address. */
  requests = 0;
  /** If set, the mode of each request by its number (1-based, as counted in `requests`), in place of `mode`. */
  modeFor?: (request: number) => Exclude<ChaosMode, 'down'>;
  private server?: Server;
  private port = 0;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(private readonly target: string) {}

  static async start(target: string): Promise<ChaosProxy> {
    const proxy = new ChaosProxy(target);
    await proxy.listen(0);
    return proxy;
  }

  /** The proxied URL of a path at the target (e.g. '/token/introspection'). */
  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async setMode(mode: ChaosMode): Promise<void> {
    if (mode === 'down' && this.server) await this.close();
    if (mode !== 'down' && !this.server) await this.listen(this.port);
    this.mode = mode;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    await this.close();
  }

  private async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async listen(port: number): Promise<void> {
    const server = createServer((req, res) => {
      const n = ++this.requests;
      const mode = this.modeFor?.(n) ?? this.mode;
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const forward = async () => {
          try {
            const answer = await fetch(this.target + req.url, {
              method: req.method,
              headers: { 'content-type': req.headers['content-type'] ?? '', authorization: req.headers.authorization ?? '', accept: 'application/json' },
              body: req.method === 'POST' ? body : undefined,
            });
            res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
            res.end(await answer.text());
          } catch {
            res.destroy();
          }
        };
        switch (mode) {
          case 'slow':
          case 'delay': {
            const t = setTimeout(
              () => {
                this.timers.delete(t);
                if (!res.destroyed) void forward();
              },
              mode === 'slow' ? 5000 : this.delayMs,
            );
            this.timers.add(t);
            return;
          }
          case 'blackhole':
            return;
          case 'error500':
            res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"server_error"}');
            return;
          case 'error503':
            res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"temporarily_unavailable"}');
            return;
          case 'error429':
            res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '3' }).end('{"error":"slow_down"}');
            return;
          case 'garbage':
            res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>');
            return;
          default:
            void forward();
        }
      });
    });
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }
}
