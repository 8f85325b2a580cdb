import 'reflect-metadata';
import { generateKeyPairSync } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { CLIENTS, EmbeddedAuthorizationServer } from './embedded-authorization-server.js';
import { registerMetrics } from './metrics.js';
import { startInternalService } from './internal-service.js';

export interface Sample {
  app: INestApplication;
  url: string;
  /** The embedded authorization server, when no AUTH_ISSUER / AUTH_INTROSPECTION_ENDPOINT was given. */
  embedded?: EmbeddedAuthorizationServer;
  /** The internal stock service (phantom tokens), when INTERNAL_URL was not given. */
  internal?: { app: INestApplication; url: string };
}

/**
 * Starts the sample API. Without AUTH_ISSUER or AUTH_INTROSPECTION_ENDPOINT it first starts an
 * embedded, real authorization server on 127.0.0.1 and configures itself against it.
 */
export async function bootstrap(options: { port?: number; adapter?: string; logger?: boolean } = {}): Promise<Sample> {
  registerMetrics(); // before the application: instruments are created at start-up
  let embedded: EmbeddedAuthorizationServer | undefined;
  if (!process.env.AUTH_ISSUER && !process.env.AUTH_INTROSPECTION_ENDPOINT) {
    embedded = await EmbeddedAuthorizationServer.start({ port: Number(process.env.AUTH_PORT ?? 0) });
    process.env.AUTH_ISSUER = embedded.issuer;
    process.env.AUTH_CLIENT_ID = CLIENTS.basic.clientId;
    process.env.AUTH_CLIENT_SECRET = CLIENTS.basic.clientSecret;
    process.env.AUTH_ALLOW_INSECURE = 'true'; // the embedded server speaks plain HTTP on loopback
    // The phantom tokens' signing key: this demo is one process beside an in-memory authorization server, so a key
    // made now lives exactly as long as every token it could sign. Elsewhere, give one key to every replica.
    process.env.PHANTOM_SIGNING_KEY ??= generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  }
  const adapter = (options.adapter ?? process.env.HTTP_ADAPTER ?? 'express') === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
  const app = await NestFactory.create(AppModule, adapter, { logger: options.logger === false ? false : ['error', 'warn', 'log'] });
  app.enableShutdownHooks();
  await app.listen(options.port ?? Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  let internal: Sample['internal'];
  if (!process.env.INTERNAL_URL) {
    internal = await startInternalService(url);
    process.env.INTERNAL_URL = internal.url;
  }
  return { app, url, embedded, internal };
}
