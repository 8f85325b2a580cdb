/**
 * Forward-auth bench servers (a child process of bench/forward-auth.ts, so the load generator never shares their
 * event loop), all on 127.0.0.1:
 *   upstream: the service behind nginx (plain node http, 200 + a small JSON body)
 *   library:  the decision sidecar, IntrospectionModule + ForwardAuthModule over Fastify (cache hit after the first call)
 *   naive:    a decision handler in plain node http that calls the introspection endpoint on every request
 *             (no framework at all: cheaper per request than the library's Nest app, so the comparison is not
 *             tilted towards the library)
 * Prints one JSON line with the ports, then serves until killed.
 */
import 'reflect-metadata';
import { createServer, type Server } from 'node:http';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ForwardAuthModule } from '../lib/forward-auth/index.js';
import { IntrospectionModule } from '../lib/index.js';

const endpoint = process.env.BENCH_INTROSPECTION_ENDPOINT!;
const clientId = process.env.BENCH_CLIENT_ID!;
const clientSecret = process.env.BENCH_CLIENT_SECRET!;

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

async function upstream(): Promise<number> {
  const body = JSON.stringify({ hello: 'world' });
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.keepAliveTimeout = 65_000;
  return listen(server);
}

/** What a decision endpoint written without this library does: ask the AS every time. */
async function naive(): Promise<number> {
  const authorization = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
  const server = createServer((req, res) => {
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
    const answer = (status: number, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-length': '0', ...headers });
      res.end();
    };
    if (!token) return answer(401, { 'www-authenticate': 'Bearer' });
    fetch(endpoint, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }),
    })
      .then((r) => r.json() as Promise<{ active?: boolean; sub?: string; client_id?: string; scope?: string }>)
      .then(
        (body) =>
          body.active === true
            ? answer(200, { 'x-auth-subject': body.sub ?? '', 'x-auth-client-id': body.client_id ?? '', 'x-auth-scopes': body.scope ?? '' })
            : answer(401, { 'www-authenticate': 'Bearer error="invalid_token"' }),
        () => answer(503, { 'retry-after': '5' }),
      );
  });
  server.keepAliveTimeout = 65_000;
  return listen(server);
}

async function library(): Promise<number> {
  @Module({
    imports: [
      IntrospectionModule.forRoot({
        introspectionEndpoint: endpoint,
        clientId,
        clientSecret,
        allowInsecureRequests: true,
        verifyOnStartup: false,
        metrics: false,
        // The AS shares the bench's process with the load generator on a shared 2-core machine: an attempt timing out
        // at the default 2 s is retried, a second AS call within the one single flight. 5 s = the default deadline.
        resilience: { attemptTimeoutMs: 5000 },
      }),
      ForwardAuthModule.forRoot({}),
    ],
  })
  class SidecarModule {}
  const app = await NestFactory.create(SidecarModule, new FastifyAdapter(), { logger: false });
  await app.listen(0, '127.0.0.1');
  return (app.getHttpServer().address() as { port: number }).port;
}

const ports = { upstream: await upstream(), library: await library(), naive: await naive() };
console.log(JSON.stringify({ ready: true, ports }));
