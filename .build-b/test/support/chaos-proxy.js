import { createServer } from 'node:http';
/**
 * A real HTTP server on 127.0.0.1 in front of a real authorization server: forwards requests in
 * mode `ok`, and misbehaves on demand — refuses connections (`down`), hangs 5 s (`slow`), never answers
 * (`blackhole`: accepts the request and holds it until the client gives up or the proxy stops), answers
 * 500, 503 (no Retry-After), 429 + Retry-After, or an HTML page with status 200 (`garbage`), or forwards
 * after `delayMs` (`delay`). `modeFor` picks the mode of each request instead (a partially failing AS:
 * one node of several behind a load balancer), except `down`, which only `setMode` can do.
 */
export class ChaosProxy {
    constructor(target) {
        this.target = target;
        this.mode = 'ok';
        /** For mode `delay`: how long each request is held before it is forwarded, milliseconds. */
        this.delayMs = 300;
        /** Requests received (answered or not) since start: what a test counts as calls reaching the AS's address. */
        this.requests = 0;
        this.port = 0;
        this.sockets = new Set();
        this.timers = new Set();
    }
    static async start(target) {
        const proxy = new ChaosProxy(target);
        await proxy.listen(0);
        return proxy;
    }
    /** The proxied URL of a path at the target (e.g. '/token/introspection'). */
    url(path) {
        return `http://127.0.0.1:${this.port}${path}`;
    }
    async setMode(mode) {
        if (mode === 'down' && this.server)
            await this.close();
        if (mode !== 'down' && !this.server)
            await this.listen(this.port);
        this.mode = mode;
    }
    async stop() {
        for (const t of this.timers)
            clearTimeout(t);
        await this.close();
    }
    async close() {
        const server = this.server;
        this.server = undefined;
        for (const s of this.sockets)
            s.destroy();
        if (server)
            await new Promise((resolve) => server.close(() => resolve()));
    }
    async listen(port) {
        const server = createServer((req, res) => {
            const n = ++this.requests;
            const mode = this.modeFor?.(n) ?? this.mode;
            let body = '';
            req.on('data', (c) => (body += c.toString()));
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
                    }
                    catch {
                        res.destroy();
                    }
                };
                switch (mode) {
                    case 'slow':
                    case 'delay': {
                        const t = setTimeout(() => {
                            this.timers.delete(t);
                            if (!res.destroyed)
                                void forward();
                        }, mode === 'slow' ? 5000 : this.delayMs);
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
        await new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
        this.port = server.address().port;
        this.server = server;
    }
}
