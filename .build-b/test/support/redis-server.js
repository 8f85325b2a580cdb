import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
/** Whether a `redis-server` binary is on this machine (CI installs it; see .ci/run). */
export const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
/** A real redis-server on 127.0.0.1 and a free port, without persistence; killable and restartable. */
export class TestRedis {
    constructor(port) {
        this.port = port;
    }
    static async start() {
        const redis = new TestRedis(await freePort());
        await redis.launch();
        return redis;
    }
    get url() {
        return `redis://127.0.0.1:${this.port}`;
    }
    /** Kills the server at once (like a crash). */
    async kill() {
        const p = this.process;
        if (!p || p.exitCode !== null)
            return;
        this.process = undefined;
        p.kill('SIGCONT'); // a frozen server must wake to die
        await new Promise((resolve) => {
            p.once('exit', () => resolve());
            p.kill('SIGKILL');
        });
    }
    /** Freezes the server (SIGSTOP): connections stay open, nothing answers — a hung Redis. */
    freeze() {
        this.process?.kill('SIGSTOP');
    }
    /** Lets a frozen server run again (SIGCONT). */
    thaw() {
        this.process?.kill('SIGCONT');
    }
    /** Starts again on the same port, empty. */
    async restart() {
        await this.kill();
        await this.launch();
    }
    /** Runs redis-cli against this server (to inspect keys and values). */
    cli(...args) {
        const result = spawnSync('redis-cli', ['-p', String(this.port), '--raw', ...args], { encoding: 'utf8' });
        return result.stdout;
    }
    async launch() {
        const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        this.process = child;
        await new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('redis-server did not start within 5 s')), 5000);
            child.stdout.on('data', (chunk) => {
                if (chunk.toString().includes('Ready to accept connections')) {
                    clearTimeout(timer);
                    resolve();
                }
            });
            child.once('exit', (code) => {
                clearTimeout(timer);
                reject(new Error(`redis-server exited with ${code}`));
            });
        });
    }
}
async function freePort() {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address();
            server.close(() => resolve(port));
        });
    });
}
