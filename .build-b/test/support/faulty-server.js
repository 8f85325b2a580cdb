import { createServer } from 'node:http';
/**
 * A real HTTP server on 127.0.0.1 that misbehaves on demand (slow, 500, 429, HTML, huge bodies, ...),
 * for fault injection without mocking the HTTP client. Counts requests.
 */
export class FaultyServer {
    constructor(server, behaviour) {
        this.server = server;
        this.requests = 0;
        this.bodies = [];
        this.sockets = new Set();
        this.behaviour = behaviour;
    }
    static async start(behaviour) {
        const server = createServer();
        const faulty = new FaultyServer(server, behaviour);
        server.on('connection', (s) => {
            faulty.sockets.add(s);
            s.on('close', () => faulty.sockets.delete(s));
        });
        server.on('request', (req, res) => {
            faulty.requests++;
            let body = '';
            req.on('data', (c) => (body += c.toString()));
            req.on('end', () => {
                faulty.bodies.push(body);
                void Promise.resolve(faulty.behaviour(req, res, body)).catch(() => res.destroy());
            });
        });
        await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
        return faulty;
    }
    get url() {
        return `http://127.0.0.1:${this.server.address().port}/introspect`;
    }
    async stop() {
        for (const s of this.sockets)
            s.destroy();
        await new Promise((resolve) => this.server.close(() => resolve()));
    }
}
/** Behaviours used across suites. */
export const behave = {
    json: (body, status = 200, headers = {}) => (_req, res) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
    },
    status: (status, headers = {}) => (_req, res) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end('{"error":"server_error"}');
    },
    html: () => (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html><body>Login page of a proxy</body></html>');
    },
    huge: (bytes) => (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        res.write('{"active":true,"pad":"');
        let sent = 0;
        const pump = () => {
            while (sent < bytes) {
                sent += chunk.length;
                if (!res.write(chunk))
                    return void res.once('drain', pump);
            }
            res.end('"}');
        };
        res.on('error', () => undefined);
        pump();
    },
    delay: (ms, then) => (req, res, body) => new Promise((resolve) => setTimeout(() => {
        if (!res.destroyed)
            void then(req, res, body);
        resolve();
    }, ms)),
};
