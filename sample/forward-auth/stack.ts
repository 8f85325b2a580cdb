import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { IntrospectionModule } from 'nestjs-token-introspection';
import { ForwardAuthModule } from 'nestjs-token-introspection/forward-auth';
import { FORWARD_AUTH_NGINX_CONF, forwardAuthNginxConf, TestNginx } from '../../test/support/nginx.js';
import { CLIENTS, EmbeddedAuthorizationServer } from '../embedded-authorization-server.js';

/** The phantom tokens' issuer and the audience of the service behind nginx. */
export const EDGE_ISSUER = 'https://edge.example';
export const SERVICE_AUDIENCE = 'https://orders.internal';
export const PHANTOM_JWKS_PATH = '.well-known/phantom-jwks.json';

/** The forward-auth sample, running: the embedded AS, the decision sidecar, the Python service and nginx in front. */
export interface ForwardAuthStack {
  as: EmbeddedAuthorizationServer;
  sidecar: INestApplication;
  /** What clients call: nginx. */
  url: string;
  /** The sidecar's origin (the phantom JWKS is published there). */
  sidecarUrl: string;
  serviceUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts the sample on 127.0.0.1: the embedded authorization server (oidc-provider), the decision sidecar
 * (IntrospectionModule + ForwardAuthModule), the Python service (sample/forward-auth/service.py) and nginx with the
 * shipped configuration (sample/forward-auth/forward-auth.nginx.conf), its three ports as given; `quiet`: no Nest log.
 */
export async function startForwardAuthStack(
  ports: { nginx: number; sidecar: number; service: number },
  adapter = 'express',
  options: { quiet?: boolean } = {},
): Promise<ForwardAuthStack> {
  const as = await EmbeddedAuthorizationServer.start({ port: Number(process.env.AUTH_PORT ?? 0) });
  const stops: Array<() => Promise<unknown>> = [() => as.stop()];
  const stop = async () => {
    for (const step of stops.reverse()) await step().catch(() => undefined);
  };
  try {
    @Module({
      imports: [
        IntrospectionModule.forRoot({
          issuer: as.issuer,
          ...CLIENTS.basic,
          allowInsecureRequests: true, // the embedded AS speaks plain HTTP on loopback
          requireTokenType: true, // refresh tokens must not pass (oidc-provider answers them without token_type)
          phantomJwksPath: PHANTOM_JWKS_PATH,
          phantom: { issuer: EDGE_ISSUER, audiences: [SERVICE_AUDIENCE], lifetimeSeconds: 60 },
        }),
        ForwardAuthModule.forRoot({
          upstreamToken: {},
          locations: [
            { prefix: '/public', public: true },
            { prefix: '/admin/', scopes: ['admin'] },
          ],
        }),
      ],
    })
    class SidecarModule {}
    const sidecar = await NestFactory.create(SidecarModule, adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(), {
      logger: options.quiet ? false : ['error', 'warn'],
    });
    await sidecar.listen(ports.sidecar, '127.0.0.1');
    stops.push(() => sidecar.close());

    const service = await startPythonService(ports.service);
    stops.push(() => stopProcess(service));

    const nginx = await TestNginx.start(forwardAuthNginxConf({ listen: ports.nginx, decision: ports.sidecar, upstream: ports.service }), ports.nginx);
    stops.push(() => nginx.stop());
    return {
      as,
      sidecar,
      url: nginx.url,
      sidecarUrl: `http://127.0.0.1:${ports.sidecar}`,
      serviceUrl: `http://127.0.0.1:${ports.service}`,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The nginx configuration file the sample loads (for the printed instructions). */
export const NGINX_CONF = FORWARD_AUTH_NGINX_CONF;

async function startPythonService(port: number): Promise<ChildProcess> {
  const script = join(dirname(FORWARD_AUTH_NGINX_CONF), 'service.py');
  const child = spawn('python3', [script, String(port)], { stdio: ['ignore', 'ignore', 'inherit'] });
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null) throw new Error(`python3 ${script} exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`python3 ${script} not listening on ${port} within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return child;
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
