import { createHash, timingSafeEqual } from 'node:crypto';
import { Body, Controller, Headers, HttpCode, HttpException, Inject, Logger, Post, type OnModuleInit, type Type } from '@nestjs/common';
import { Public } from '../decorators/public.decorator.js';
import { IntrospectionConfigurationError } from '../errors/introspection.errors.js';
import { RESOLVED_OPTIONS } from '../introspection.constants.js';
import { IntrospectionService } from '../introspection.service.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { tokenFingerprint } from '../utils/fingerprint.js';

/** What the webhook accepts: exactly one of these (JSON body). */
export interface RevocationNotification {
  token?: string;
  sub?: string;
  client_id?: string;
  /** A JWT access token's `jti`: refused until `jwt.maxTokenLifetimeSeconds` passed (local JWT validation only). */
  jti?: string;
}

/** The module extra `revocationWebhook`. */
export interface RevocationWebhookOptions {
  /** Route of the webhook, e.g. `'internal/revocations'`. */
  path: string;
  /**
   * Which replicas an eviction reaches. `'all-replicas'` (the default) needs `cache.redis`: evictions
   * are broadcast and the `sub` / `client_id` index is shared. `'this-replica'` is for a single
   * instance with the in-memory cache: the webhook then evicts only from the process that received it.
   * Any other combination is refused at start-up.
   */
  scope?: 'all-replicas' | 'this-replica';
}

/**
 * Builds the revocation webhook controller for `path`: `POST <path>` with
 * `Authorization: Bearer <revocationWebhookSecret>` and a JSON body `{ "token": … }`, `{ "sub": … }` or
 * `{ "client_id": … }` evicts the matching cache entries on every replica. For an authorization
 * server or an admin tool that pushes revocations.
 */
export function createRevocationWebhookController(webhook: RevocationWebhookOptions): Type<unknown> {
  const path = webhook.path;
  const scope = webhook.scope ?? 'all-replicas';
  @Controller(path)
  @Public()
  class RevocationWebhookController implements OnModuleInit {
    private readonly secretDigest?: Buffer;
    private readonly log = new Logger('RevocationWebhook');

    constructor(
      @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
      private readonly introspection: IntrospectionService,
    ) {
      if (options.revocationWebhookSecret) this.secretDigest = digest(options.revocationWebhookSecret);
    }

    onModuleInit(): void {
      if (typeof path !== 'string' || path.replace(/\//g, '').length === 0) {
        throw new IntrospectionConfigurationError("`revocationWebhook.path` must be a non-empty route, e.g. 'internal/revocations'.");
      }
      if (scope !== 'all-replicas' && scope !== 'this-replica') {
        throw new IntrospectionConfigurationError(
          `\`revocationWebhook.scope\` '${String(scope)}' is unknown: use 'all-replicas' (the default, needs \`cache.redis\`) or 'this-replica'.`,
        );
      }
      if (!this.secretDigest) {
        throw new IntrospectionConfigurationError(
          `The revocation webhook at '${path}' needs \`revocationWebhookSecret\` (at least 16 characters): ` +
            'callers must send it as `Authorization: Bearer <secret>`.',
        );
      }
      const cache = this.options.cache;
      // Refused here rather than answered 503 at run time: an authorization server would retry a 503 forever.
      if (!cache) {
        throw new IntrospectionConfigurationError(
          `The revocation webhook at '${path}' has nothing to evict: \`cache\` is false. Enable the cache, or remove \`revocationWebhook\`.`,
        );
      }
      if (scope === 'all-replicas' && !cache.redis) {
        throw new IntrospectionConfigurationError(
          `The revocation webhook at '${path}' must reach every replica, which needs \`cache.redis\` (eviction broadcast and the sub/client_id index). ` +
            "Configure `cache.redis`, or, for a single instance with the in-memory cache, set `revocationWebhook: { path, scope: 'this-replica' }`.",
        );
      }
      if (scope === 'this-replica' && (cache.redis || cache.store !== undefined)) {
        throw new IntrospectionConfigurationError(
          `The revocation webhook at '${path}' is limited to this replica, but the cache is shared: ` +
            "remove `scope: 'this-replica'` (with `cache.redis`), or use `cache.redis` instead of `cache.store`.",
        );
      }
    }

    @Post()
    @HttpCode(200)
    async revoke(@Headers('authorization') authorization: string | undefined, @Body() body: unknown) {
      const presented = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1];
      if (!presented || !timingSafeEqual(digest(presented), this.secretDigest!)) {
        throw new HttpException({ statusCode: 401, message: 'Send the webhook secret as Authorization: Bearer <secret>.', error: 'Unauthorized' }, 401);
      }
      const notification = parse(body);
      try {
        if (notification.token !== undefined) {
          await this.introspection.evict(notification.token);
          this.log.log(`Evicted token ${tokenFingerprint(notification.token)} on request.`);
          return { evicted: 'token' };
        }
        if (notification.sub !== undefined) {
          return { evicted: 'sub', entries: await this.introspection.evictBySubject(notification.sub) };
        }
        if (notification.jti !== undefined) {
          await this.introspection.evictByJti(notification.jti);
          return { evicted: 'jti' };
        }
        return { evicted: 'client_id', entries: await this.introspection.evictByClientId(notification.client_id!) };
      } catch (error) {
        throw new HttpException({ statusCode: 503, message: `Eviction failed: ${(error as Error).message}`, error: 'Service Unavailable' }, 503);
      }
    }
  }
  return RevocationWebhookController;
}

function digest(value: string): Buffer {
  // Compare fixed-length digests: timingSafeEqual needs equal lengths, and lengths must not leak.
  return createHash('sha256').update(value).digest();
}

function parse(body: unknown): RevocationNotification {
  const fail = () => {
    throw new HttpException(
      { statusCode: 400, message: 'Send a JSON body with exactly one of "token", "sub", "client_id" or "jti" (a non-empty string).', error: 'Bad Request' },
      400,
    );
  };
  if (!body || typeof body !== 'object' || Array.isArray(body)) return fail();
  const fields = (['token', 'sub', 'client_id', 'jti'] as const).filter((f) => (body as Record<string, unknown>)[f] !== undefined);
  if (fields.length !== 1) return fail();
  const value = (body as Record<string, unknown>)[fields[0]];
  if (typeof value !== 'string' || value.length === 0 || value.length > 8192) return fail();
  return { [fields[0]]: value };
}
