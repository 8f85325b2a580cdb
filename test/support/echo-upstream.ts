import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';

/** One request as the upstream received it. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** The raw header lines, names as sent (duplicates kept). */
  rawHeaders: string[];
  body: string;
}

/**
 * The service behind a gateway in the tests: a plain node HTTP server on 127.0.0.1 that records every request it
 * receives and answers 200 with JSON `{ upstream: true, method, url }`.
 */
export class EchoUpstream {
  /** Every request received since start (or the last `clear()`), in order. */
  readonly requests: ReceivedRequest[] = [];
  private readonly sockets = new Set<Socket>();

  private readonly server: Server;
  /** Its port on 127.0.0.1 (once started). */
  port = 0;

  private constructor() {
    this.server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ upstream: true, method: req.method, url: req.url }));
      });
    });
    this.server.keepAliveTimeout = 65_000; // longer than nginx keeps an idle upstream connection
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /** Starts it on 127.0.0.1 and a free port (or `port`). */
  static async start(port = 0): Promise<EchoUpstream> {
    const upstream = new EchoUpstream();
    await new Promise<void>((resolve) => upstream.server.listen(port, '127.0.0.1', () => resolve()));
    upstream.port = (upstream.server.address() as { port: number }).port;
    return upstream;
  }

  /** Forgets the requests recorded so far. */
  clear(): void {
    this.requests.length = 0;
  }

  /** Stops listening and closes every open connection. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
