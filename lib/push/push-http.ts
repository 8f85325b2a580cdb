import { HttpException } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { IntrospectionConfigurationError } from '../errors/introspection.errors.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import type { PushReceiverScope } from './push-options.interface.js';

/** The media type of Security Event Tokens (RFC 8417 §2.3). */
export const SECEVENT_MEDIA_TYPE = 'application/secevent+jwt';

/** A body larger than the receiver's bound (read no further). */
export const TOO_LARGE = Symbol('too-large');

/** The media type of a request, lower case, without parameters. */
export function mediaType(header: unknown): string {
  return typeof header === 'string' ? header.split(';')[0].trim().toLowerCase() : '';
}

/**
 * Reads a raw body up to `limit` bytes. Stops at the limit (the rest is left to Node to discard) and
 * refuses at once a Content-Length above it.
 */
export function readLimited(stream: IncomingMessage, limit: number): Promise<Buffer | typeof TOO_LARGE> {
  const declared = Number(stream.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(TOO_LARGE);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (value: Buffer | typeof TOO_LARGE) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      resolve(value);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        stream.pause();
        return done(TOO_LARGE);
      }
      chunks.push(chunk);
    };
    const onEnd = () => done(Buffer.concat(chunks));
    const onError = (error: Error) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      reject(error);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
  });
}

/**
 * The body of a request as the receiver needs it, on Express and Fastify alike: what a body parser already
 * produced (a string, a Buffer, an object), else the raw stream read up to `limit`.
 */
export async function requestBody(req: unknown, limit: number): Promise<string | Record<string, unknown> | typeof TOO_LARGE | undefined> {
  const r = req as { body?: unknown; raw?: IncomingMessage; readableEnded?: boolean; _body?: boolean } & IncomingMessage;
  const body = r.body;
  if (body === TOO_LARGE) return TOO_LARGE;
  if (typeof body === 'string') return Buffer.byteLength(body) > limit ? TOO_LARGE : body;
  if (Buffer.isBuffer(body)) return body.length > limit ? TOO_LARGE : body.toString('utf8');
  if (body && typeof body === 'object' && Object.keys(body).length > 0) return body as Record<string, unknown>;
  // Express without a parser for this media type: the stream is still unread (Fastify always parses first).
  const stream = r.raw ?? r;
  if (typeof stream.on !== 'function' || stream.readableEnded || r._body) return undefined;
  const raw = await readLimited(stream, limit);
  return raw === TOO_LARGE ? raw : raw.toString('utf8');
}

/**
 * Fastify answers 415 for a media type it has no parser for, before any route runs: the receiver adds one for
 * `application/secevent+jwt` (bounded, the raw text) unless the application registered its own. Express needs
 * nothing: its parsers leave other media types unread.
 */
export function registerSecurityEventParser(adapterHost: HttpAdapterHost | undefined, limit: number): void {
  const adapter = adapterHost?.httpAdapter;
  if (!adapter || adapter.getType() !== 'fastify') return;
  const fastify = adapter.getInstance<{
    hasContentTypeParser(type: string): boolean;
    addContentTypeParser(type: string, parser: (req: unknown, payload: IncomingMessage, done: (error: Error | null, body?: unknown) => void) => void): void;
  }>();
  if (fastify.hasContentTypeParser(SECEVENT_MEDIA_TYPE)) return;
  fastify.addContentTypeParser(SECEVENT_MEDIA_TYPE, (_req, payload, done) => {
    readLimited(payload, limit).then(
      (body) => done(null, body === TOO_LARGE ? TOO_LARGE : body.toString('utf8')),
      (error: Error) => done(error),
    );
  });
}

/** Sets a header on the platform's response object (Express or Fastify). */
export function setHeader(adapterHost: HttpAdapterHost | undefined, response: unknown, name: string, value: string): void {
  adapterHost?.httpAdapter.setHeader(response, name, value);
}

/**
 * For an answer given before the request body was read to its end (too large): `Connection: close`, and the
 * connection ended once the answer is sent. Otherwise the unread rest pins the connection, and graceful shutdown waits for it.
 */
export function closeAfterAnswer(adapterHost: HttpAdapterHost | undefined, response: unknown): void {
  setHeader(adapterHost, response, 'Connection', 'close');
  const raw = ((response as { raw?: ServerResponse }).raw ?? response) as ServerResponse;
  if (typeof raw?.once !== 'function') return;
  raw.once('finish', () => {
    const socket = raw.socket;
    if (!socket || socket.destroyed) return;
    // Flush the answer, then close both directions (the client may never finish sending).
    socket.once('finish', () => socket.destroy());
    socket.end();
  });
}

/** An answer that is not 2xx, with a protocol-shaped JSON body (the exception filter sends the object as is). */
export function answer(status: number, body: Record<string, string>): HttpException {
  return new HttpException(body, status);
}

/**
 * Start-up checks shared by the receivers (as for the revocation webhook): a route, options, and a cache whose
 * evictions reach the replicas the scope promises. Refused at start-up, never answered 503 at run time: a sender
 * would retry forever.
 */
export function checkReceiver(what: string, path: unknown, scope: PushReceiverScope, options: ResolvedOptions, configured: boolean, optionName: string): void {
  if (typeof path !== 'string' || path.replace(/\//g, '').length === 0) {
    throw new IntrospectionConfigurationError(`The ${what} route must be a non-empty path, e.g. 'oidc/backchannel-logout'.`);
  }
  if (scope !== 'all-replicas' && scope !== 'this-replica') {
    throw new IntrospectionConfigurationError(
      `The ${what} scope '${String(scope)}' is unknown: use 'all-replicas' (the default, needs \`cache.redis\`) or 'this-replica'.`,
    );
  }
  if (!configured) {
    throw new IntrospectionConfigurationError(`The ${what} at '${path}' needs the \`${optionName}\` option (what to verify pushed tokens with).`);
  }
  const cache = options.cache;
  if (!cache) {
    throw new IntrospectionConfigurationError(`The ${what} at '${path}' has nothing to evict: \`cache\` is false. Enable the cache, or remove the receiver.`);
  }
  if (scope === 'all-replicas' && !cache.redis) {
    throw new IntrospectionConfigurationError(
      `The ${what} at '${path}' must reach every replica, which needs \`cache.redis\` (eviction broadcast, the sub/sid/jti index, the shared replay check). ` +
        "Configure `cache.redis`, or, for a single instance with the in-memory cache, set `scope: 'this-replica'` on the receiver's route.",
    );
  }
  if (scope === 'this-replica' && (cache.redis || cache.store !== undefined)) {
    throw new IntrospectionConfigurationError(
      `The ${what} at '${path}' is limited to this replica, but the cache is shared: remove \`scope: 'this-replica'\` (with \`cache.redis\`), ` +
        'or use `cache.redis` instead of `cache.store`.',
    );
  }
}
