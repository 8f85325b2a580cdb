import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { RoleExtractor } from '../authorization/role-mappers.js';
import { AuthorizationServerUnavailableError, describeInvalidToken, IntrospectionConfigurationError, outageMessage } from '../errors/introspection.errors.js';
import { RESOLVED_OPTIONS } from '../introspection.constants.js';
import type { ActiveIntrospectionResult, TokenPresentation } from '../interfaces/introspection-result.interface.js';
import { IntrospectionService } from '../introspection.service.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { RateLimitedLogger } from '../utils/rate-limited-logger.js';
import type { BearerExtraction } from '../guard/bearer.js';
import { socketCertificateThumbprint } from '../guard/client-certificate.js';
import { evaluateRouteChecks, readRouteChecks, type RouteChecks } from '../guard/route-checks.js';
import { socketFairnessKey } from '../guard/fairness-key.js';
import { bearerOrRawToken, compileTokenSources, type TokenExtractor } from '../guard/token-sources.js';

/**
 * Close codes of refused or ended connections: the HTTP status in the 4000–4999 range applications own
 * (RFC 6455 §7.4.2), and 1013 "Try Again Later" when the authorization server cannot answer.
 */
export const CLOSE_CODES = {
  /** Malformed credentials (two sources, junk characters, too long): `invalid_request`. */
  invalid_request: 4400,
  /** No token, or a token that is (or became) inactive, expired, revoked or evicted, or is for another resource: `invalid_token`. */
  invalid_token: 4401,
  /** RFC 9470 step-up: the token's `acr` / `auth_time` do not meet the connection's `@RequireAuthentication()`. */
  insufficient_user_authentication: 4401,
  /** The token lacks a scope, role or claim value the connection requires: `insufficient_scope`. */
  insufficient_scope: 4403,
  /** The handshake's `Origin` is not one of `websocket.allowedOrigins` (cross-site WebSocket hijacking). */
  origin_not_allowed: 4403,
  /** The authorization server cannot answer now: reconnect later. */
  temporarily_unavailable: 1013,
  /** Too many messages before the token was checked. */
  policy_violation: 1008,
  /** More than `websocket.maxPendingBytes` sent before the token was checked. */
  message_too_big: 1009,
} as const;

/**
 * Why a connection or a message was refused: the RFC 6750 error code, the HTTP status it stands for, the close
 * code of the connection, and a message safe to send to the client (never the token).
 */
export class ConnectionRefusedError extends Error {
  readonly code = 'CONNECTION_REFUSED';
  constructor(
    readonly error: 'invalid_request' | 'invalid_token' | 'insufficient_user_authentication' | 'insufficient_scope' | 'origin_not_allowed' | 'temporarily_unavailable',
    readonly status: 400 | 401 | 403 | 503,
    message: string,
    readonly retryAfterSeconds?: number,
    /** RFC 9470 step-up (`insufficient_user_authentication`): what a new authentication must satisfy. */
    readonly stepUp?: { readonly acrValues?: string; readonly maxAge?: number },
  ) {
    super(message);
    this.name = 'ConnectionRefusedError';
  }

  /** The close code for this refusal (`CLOSE_CODES`). */
  get closeCode(): number {
    return CLOSE_CODES[this.error];
  }

  /** The error object sent to clients: `{ status, error, message, retryAfterSeconds?, acrValues?, maxAge? }`. */
  toJSON(): { status: number; error: string; message: string; retryAfterSeconds?: number; acrValues?: string; maxAge?: number } {
    return {
      status: this.status,
      error: this.error,
      message: this.message,
      ...(this.retryAfterSeconds ? { retryAfterSeconds: this.retryAfterSeconds } : {}),
      ...(this.stepUp?.acrValues !== undefined ? { acrValues: this.stepUp.acrValues } : {}),
      ...(this.stepUp?.maxAge !== undefined ? { maxAge: this.stepUp.maxAge } : {}),
    };
  }
}

/** An authenticated long-lived connection: its token, the latest validated result, how it was presented. */
export interface ConnectionPrincipal {
  readonly token: string;
  result: ActiveIntrospectionResult;
  readonly presentation: TokenPresentation;
  /** The client's fair-queue key (its address), used again by re-checks. */
  readonly caller?: string;
}

/**
 * What every connection must satisfy at connect (and at each re-check): `authenticateWebSockets(adapter, app, …)`,
 * `graphqlWs(…)`, `authenticate(…)`. Message handlers add their own decorators on top, checked per message.
 */
export interface ConnectionRequirements {
  /** Scopes every connection needs. Default none. */
  requiredScopes?: readonly string[];
  /**
   * A class — typically the gateway or the subscription resolver — whose own (class-level) `@Scopes()`, `@AnyScope()`,
   * `@Roles()`, `@AnyRole()`, `@RequireClaims()`, `@AnyClaim()`, `@RequireAuthentication()` and `@ProtectedResource()`
   * every connection must satisfy. Read once. A refusal closes the connection: 4401 for a token of another resource or
   * a step-up (`insufficient_user_authentication`), 4403 for scopes, roles and claims. Default none.
   */
  requirementsOf?: abstract new (...args: never[]) => unknown;
}

/** A watched connection (see `ConnectionAuthenticator.watch`). */
interface Watched {
  readonly principal: ConnectionPrincipal;
  readonly checks?: RouteChecks;
  readonly key: string;
  readonly close: (code: number, reason: string) => void;
  timer?: ReturnType<typeof setTimeout>;
  checking?: boolean;
  again?: boolean;
  ended?: boolean;
}

/** A check in progress, told about evictions of its token that land before its answer is used (see `evictionAware`). */
interface InFlight {
  evicted: boolean;
}

/** The state of a WebSocket (or graphql-ws) connection, per socket. Internal. */
export interface ConnectionState {
  /** Settles when the handshake token has been checked. */
  ready: Promise<ConnectionPrincipal | undefined>;
  principal?: ConnectionPrincipal;
  refusal?: ConnectionRefusedError;
}

/** Sockets authenticated by `authenticateWebSockets()` or `graphqlWs()`, for `TokenGuard` in `ws` / `graphql` contexts. */
export const connections = new WeakMap<object, ConnectionState>();

/**
 * Authenticates long-lived connections — WebSocket handshakes, graphql-ws `connectionParams` — with the same rules as
 * `TokenGuard`, and keeps them honest: an open connection is checked again every `websocket.recheckIntervalSeconds`,
 * at its token's `exp`, and as soon as the token is evicted (`evict()`, `evictBySubject()`, the webhook, another
 * replica); a token found inactive closes it with 4401. While the authorization server cannot answer, open connections
 * stay open (never past `exp`). Provided and exported by `IntrospectionModule`.
 */
@Injectable()
export class ConnectionAuthenticator implements OnApplicationShutdown {
  private readonly watched = new Map<string, Set<Watched>>();
  private readonly inFlight = new Map<string, Set<InFlight>>();
  private readonly log = new RateLimitedLogger(new Logger('ConnectionAuthenticator'));
  private handshakeSources?: TokenExtractor;
  private readonly roles: RoleExtractor;
  private readonly compiled = new WeakMap<object, RouteChecks | undefined>();

  constructor(
    private readonly introspection: IntrospectionService,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
    private readonly reflector: Reflector,
  ) {
    introspection.onEvicted((keys) => this.onEvicted(keys));
    this.roles = new RoleExtractor(options.roles.mappers, (error) =>
      this.log.warn('role-mapper', `A role mapper threw; the token counts as holding none of its roles: ${(error as Error)?.message ?? String(error)}`));
  }

  /**
   * Reads connection requirements once (scopes, and the decorators of \`requirementsOf\`). Throws
   * \`IntrospectionConfigurationError\` for decorator arguments that cannot work (e.g. an unknown \`@ProtectedResource()\`).
   */
  compileRequirements(requirements: readonly string[] | ConnectionRequirements = []): RouteChecks | undefined {
    if (Array.isArray(requirements)) requirements = { requiredScopes: requirements as readonly string[] };
    const { requiredScopes = [], requirementsOf } = requirements as ConnectionRequirements;
    const key = requirementsOf ?? undefined;
    let checks: RouteChecks | undefined;
    if (key && this.compiled.has(key)) {
      checks = this.compiled.get(key);
    } else if (key) {
      const read = readRouteChecks(this.reflector, undefined, key, this.options);
      if (read.errors.length > 0) {
        throw new IntrospectionConfigurationError(`Invalid connection requirements (${key.name}):\n${read.errors.map((e) => `  - ${e}`).join('\n')}`);
      }
      for (const trap of read.traps) new Logger('ConnectionAuthenticator').warn(`${key.name}: ${trap}`);
      checks = read.checks;
      this.compiled.set(key, checks);
    }
    if (requiredScopes.length === 0) return checks;
    const allScopes = [...new Set([...(checks?.allScopes ?? []), ...requiredScopes])];
    return Object.freeze({ allRoles: [], anyRoles: [], allClaims: [], anyClaims: [], anyScopes: [], ...checks, allScopes });
  }

  /**
   * Checks a token: resolves to the principal, or rejects with `ConnectionRefusedError` (never anything else).
   * `token` is what a transport carried: a `BearerExtraction`, or a value given as `Bearer <token>` or raw.
   * `requirements`: required scopes, or `ConnectionRequirements` (scopes and a decorated class), or their
   * compiled form (`compileRequirements`, to read them once for many calls). `caller`: the client's fair-queue key
   * (typically its address), so that one client flooding unknown tokens cannot crowd out the others.
   */
  async authenticate(
    token: BearerExtraction | unknown,
    requirements: readonly string[] | ConnectionRequirements | RouteChecks = [],
    presentation: TokenPresentation = { scheme: 'bearer' },
    caller?: string,
  ): Promise<ConnectionPrincipal> {
    const checks = isCompiled(requirements) ? requirements : this.compileRequirements(requirements);
    const extraction = isExtraction(token) ? token : bearerOrRawToken(token, 'access token', this.options.maxTokenLength);
    if (extraction.kind === 'missing' || extraction.kind === 'other_scheme') {
      throw new ConnectionRefusedError('invalid_token', 401, 'An access token is required.');
    }
    if (extraction.kind === 'malformed') throw new ConnectionRefusedError('invalid_request', 400, extraction.description);
    if (extraction.scheme === 'dpop') {
      throw new ConnectionRefusedError('invalid_request', 400, 'DPoP-bound tokens cannot authenticate a connection: send a bearer token.');
    }
    const result = await this.check(extraction.token, presentation, caller);
    const refused = checks && routeRefusal(checks, result, this.roles, this.options.clockSkewSeconds);
    if (refused) throw refused;
    return { token: extraction.token, result, presentation, ...(caller === undefined ? {} : { caller }) };
  }

  /**
   * Introspects a connection's token (through the cache): the active result, or a `ConnectionRefusedError`
   * (`invalid_token` for an inactive token, `temporarily_unavailable` when the authorization server cannot answer).
   */
  check(token: string, presentation: TokenPresentation, caller?: string): Promise<ActiveIntrospectionResult> {
    return checkToken(this.introspection, this.options, token, presentation, caller);
  }

  /**
   * Keeps an authenticated connection under watch until `close` is called or the returned function is: `close(code,
   * reason)` is called once, when the token turns inactive (4401) or expires, or no longer meets `requirements`
   * (the connection's own, as at connect: 4401 / 4403). Re-checks are spread over time.
   */
  watch(principal: ConnectionPrincipal, close: (code: number, reason: string) => void, requirements?: readonly string[] | ConnectionRequirements | RouteChecks): () => void {
    const checks = requirements === undefined || isCompiled(requirements) ? requirements : this.compileRequirements(requirements);
    const entry = this.startWatching(principal, close, checks);
    return () => this.unwatch(entry);
  }

  /**
   * Authenticates a WebSocket upgrade request with `websocket.tokenSources` and records the socket for `TokenGuard`.
   * Used by `authenticateWebSockets()`; call it yourself for other adapters. Resolves to the principal, or closes the
   * socket (4400/4401/4403/1013 with the reason) and resolves to undefined. Never rejects.
   */
  async handshake(socket: SocketLike, request: unknown, requirements: readonly string[] | ConnectionRequirements | RouteChecks = []): Promise<ConnectionPrincipal | undefined> {
    this.handshakeSources ??= compileTokenSources(this.options.websocket.tokenSources, this.options.maxTokenLength, false);
    const checks = isCompiled(requirements) ? requirements : this.compileRequirements(requirements);
    const state: ConnectionState = { ready: undefined as never };
    connections.set(socket, state);
    state.ready = (async () => {
      try {
        // Before any token lookup: a foreign page must not make the authorization server work for it either.
        const foreign = this.originRefusal(request, this.options.websocket.allowedOrigins);
        if (foreign) throw foreign;
        const extraction = request ? this.handshakeSources!(request) : ({ kind: 'missing' } as const);
        const raw = (request as { socket?: unknown } | undefined)?.socket;
        const presentation: TokenPresentation = { scheme: 'bearer', certificateThumbprint: socketCertificateThumbprint(raw) };
        const principal = await this.authenticateAndWatch(extraction, checks ?? [], presentation, socketFairnessKey(raw), (code, reason) => closeSocket(socket, code, reason), (stop) => onSocketClose(socket, stop));
        state.principal = principal;
        return principal;
      } catch (error) {
        state.refusal = error instanceof ConnectionRefusedError ? error : new ConnectionRefusedError('invalid_token', 401, 'The connection could not be authenticated.');
        if (!(error instanceof ConnectionRefusedError)) this.log.warn('handshake', `A WebSocket handshake could not be authenticated: ${(error as Error)?.message ?? String(error)}`);
        closeSocket(socket, state.refusal.closeCode, state.refusal.message);
        return undefined;
      }
    })();
    return state.ready;
  }

  /**
   * Hooks for graphql-ws with `@nestjs/graphql` (Apollo or Mercurius): the token comes from `connectionParams`
   * (`websocket.connectionParam`, `Bearer <token>` or raw), is checked on connect — a refused connection is closed
   * with 4400/4401/4403/1013 — and is watched like any connection. Spread them into the driver's options:
   * `subscriptions: { 'graphql-ws': { ...authenticator.graphqlWs() } }`. `TokenGuard` and `@Introspected()` then work
   * in subscription resolvers (`@nestjs/apollo` passes the graphql-ws context as `req`; other drivers: put `extra` in the
   * GraphQL context). `requirements`: scopes every subscription connection needs, or `ConnectionRequirements`
   * (e.g. `{ requirementsOf: MyResolver }` to apply the resolver class's `@Roles()`, `@RequireAuthentication()`, …
   * at connect). Default none. Resolvers' own decorators apply per operation either way.
   */
  graphqlWs(requirements: readonly string[] | ConnectionRequirements = []): {
    onConnect: (ctx: { connectionParams?: Readonly<Record<string, unknown>>; extra: unknown }) => Promise<boolean>;
  } {
    const param = this.options.websocket.connectionParam;
    const checks = this.compileRequirements(requirements) ?? [];
    return {
      onConnect: async (ctx) => {
        const extra = (ctx.extra ?? {}) as { socket?: unknown; request?: { socket?: unknown } };
        const socket = extra.socket as SocketLike | undefined;
        if (!socket) return false;
        const params = ctx.connectionParams ?? {};
        const value = Object.hasOwn(params, param) ? params[param]
          : param === 'authorization' && Object.hasOwn(params, 'Authorization') ? params.Authorization : undefined;
        const state: ConnectionState = { ready: undefined as never };
        connections.set(socket, state);
        const raw = extra.request?.socket;
        const presentation: TokenPresentation = { scheme: 'bearer', certificateThumbprint: socketCertificateThumbprint(raw) };
        const allowedOrigins = this.options.websocket.allowedOrigins;
        const foreign = Array.isArray(allowedOrigins) ? this.originRefusal(extra.request, allowedOrigins) : undefined;
        state.ready = (foreign ? Promise.reject(foreign) : this.authenticateAndWatch(
          bearerOrRawToken(value, 'access token', this.options.maxTokenLength), checks, presentation, socketFairnessKey(raw),
          (code, reason) => closeSocket(socket, code, reason), (stop) => onSocketClose(socket, stop),
        )).then(
          (principal) => {
            state.principal = principal;
            return principal;
          },
          (error: unknown) => {
            state.refusal = error instanceof ConnectionRefusedError ? error : new ConnectionRefusedError('invalid_token', 401, 'The connection could not be authenticated.');
            return undefined;
          },
        );
        const principal = await state.ready;
        // graphql-ws closes a `false` with 4403 Forbidden; ours says why (the first close wins).
        if (!principal) closeSocket(socket, state.refusal!.closeCode, state.refusal!.message);
        return principal !== undefined;
      },
    };
  }

  /** Logs an unexpected failure of connection handling (rate-limited). Internal. */
  reportError(error: unknown): void {
    this.log.error('connection', `Handling a WebSocket connection failed: ${(error as Error)?.message ?? String(error)}`);
  }

  /** `websocket.maxPendingMessages`. */
  get maxPendingMessages(): number {
    return this.options.websocket.maxPendingMessages;
  }

  /** Whether handshakes' origins are checked (`websocket.allowedOrigins`, or a cookie source). */
  get originPolicy(): boolean {
    return this.options.websocket.allowedOrigins !== undefined;
  }

  /** `websocket.maxPendingBytes`. */
  get maxPendingBytes(): number {
    return this.options.websocket.maxPendingBytes;
  }

  /**
   * Authenticates a connection's token and starts watching it, without missing an eviction that lands while the
   * authorization server's answer is on its way: the answer was given before the eviction, so it is asked again once
   * (the eviction dropped the cache entry and kept that answer out of it). An eviction during that second check
   * triggers a re-check of the now watched connection.
   */
  private async authenticateAndWatch(
    extraction: BearerExtraction,
    checks: RouteChecks | readonly string[],
    presentation: TokenPresentation,
    caller: string | undefined,
    close: (code: number, reason: string) => void,
    onClose: (stop: () => void) => void,
  ): Promise<ConnectionPrincipal> {
    const compiled = isCompiled(checks) ? checks : this.compileRequirements(checks);
    if (extraction.kind !== 'token') return this.authenticate(extraction, compiled ?? []); // refused: nothing to watch
    const key = this.introspection.evictionKey(extraction.token);
    const flight: InFlight = { evicted: false };
    let set = this.inFlight.get(key);
    if (!set) this.inFlight.set(key, (set = new Set()));
    set.add(flight);
    try {
      let principal = await this.authenticate(extraction, compiled ?? [], presentation, caller);
      if (flight.evicted) {
        flight.evicted = false;
        principal = await this.authenticate(extraction, compiled ?? [], presentation, caller);
      }
      const entry = this.startWatching(principal, close, compiled);
      onClose(() => this.unwatch(entry));
      if (flight.evicted) void this.recheck(entry);
      return principal;
    } finally {
      set.delete(flight);
      if (set.size === 0 && this.inFlight.get(key) === set) this.inFlight.delete(key);
    }
  }

  /**
   * Whether a WebSocket upgrade request may open a connection per `websocket.allowedOrigins` (see the option): its
   * `Origin` is listed, or names its own `Host` (the default with a cookie source), or it has no `Origin` (not a browser).
   * `authenticateWebSockets()` refuses the others before the upgrade (HTTP 403) where the adapter lets it, and at the
   * handshake (4403) otherwise.
   */
  originAllowed(request: unknown, allowed: readonly string[] | 'same-origin' | undefined = this.options.websocket.allowedOrigins): boolean {
    if (allowed === undefined) return true;
    const headers = (request as { headers?: Record<string, unknown> } | undefined)?.headers ?? {};
    const origin = headers.origin;
    if (origin === undefined) return true;
    if (typeof origin !== 'string') return false;
    if (allowed !== 'same-origin') return allowed.includes(origin.toLowerCase());
    try {
      // `Origin: null` (sandboxed frames, file: pages) does not parse: refused.
      return typeof headers.host === 'string' && new URL(origin).host === new URL(`http://${headers.host}`).host;
    } catch {
      return false;
    }
  }

  /** A refusal when a handshake's `Origin` is not allowed. */
  private originRefusal(request: unknown, allowed: readonly string[] | 'same-origin' | undefined): ConnectionRefusedError | undefined {
    return this.originAllowed(request, allowed) ? undefined : new ConnectionRefusedError('origin_not_allowed', 403, 'Connections from this origin are not allowed.');
  }

  private startWatching(principal: ConnectionPrincipal, close: (code: number, reason: string) => void, checks: RouteChecks | undefined): Watched {
    const entry: Watched = { principal, checks, key: this.introspection.evictionKey(principal.token), close };
    let set = this.watched.get(entry.key);
    if (!set) this.watched.set(entry.key, (set = new Set()));
    set.add(entry);
    this.schedule(entry);
    return entry;
  }

  /** Open connections under watch (for metrics and tests). */
  get watchedConnections(): number {
    let n = 0;
    for (const set of this.watched.values()) n += set.size;
    return n;
  }

  onApplicationShutdown(): void {
    for (const set of this.watched.values()) for (const entry of set) this.unwatch(entry);
  }

  private schedule(entry: Watched): void {
    if (entry.ended) return;
    clearTimeout(entry.timer);
    const exp = entry.principal.result.exp;
    const untilExp = typeof exp === 'number' ? exp * 1000 - Date.now() : Number.POSITIVE_INFINITY;
    // Spread re-checks of connections opened together over ±10 % of the interval.
    const interval = this.options.websocket.recheckMs * (0.9 + Math.random() * 0.2);
    const delay = Math.max(0, Math.min(untilExp, interval, 2 ** 31 - 1));
    entry.timer = setTimeout(() => void this.recheck(entry), delay);
    entry.timer.unref?.();
  }

  private async recheck(entry: Watched): Promise<void> {
    if (entry.ended) return;
    if (entry.checking) {
      entry.again = true;
      return;
    }
    entry.checking = true;
    try {
      const { token, presentation, caller } = entry.principal;
      const exp = entry.principal.result.exp;
      if (typeof exp === 'number' && exp * 1000 <= Date.now()) return this.end(entry, CLOSE_CODES.invalid_token, 'The access token expired.');
      const result = await this.check(token, presentation, caller);
      entry.principal.result = result;
      // The connection's own requirements, as at connect (roles may have changed, max_age may have passed).
      const refused = entry.checks && routeRefusal(entry.checks, result, this.roles, this.options.clockSkewSeconds);
      if (refused) return this.end(entry, refused.closeCode, refused.message);
      this.schedule(entry);
    } catch (error) {
      if (error instanceof ConnectionRefusedError && error.error === 'temporarily_unavailable') {
        // An outage does not end connections that were authenticated (reconnecting would fail too); `exp` still does.
        this.log.warn('recheck-unavailable', 'A connection could not be re-checked (authorization server unavailable); it stays open until its token expires or a re-check succeeds.');
        this.schedule(entry);
      } else {
        this.end(entry, CLOSE_CODES.invalid_token, error instanceof ConnectionRefusedError ? error.message : 'The access token is no longer accepted.');
      }
    } finally {
      entry.checking = false;
      if (entry.again && !entry.ended) {
        entry.again = false;
        void this.recheck(entry);
      }
    }
  }

  private onEvicted(keys: readonly string[] | '*'): void {
    if (keys === '*') {
      for (const set of this.inFlight.values()) for (const flight of set) flight.evicted = true;
    } else {
      for (const key of keys) for (const flight of this.inFlight.get(key) ?? []) flight.evicted = true;
    }
    if (keys === '*') {
      for (const set of this.watched.values()) for (const entry of set) void this.recheck(entry);
      return;
    }
    for (const key of keys) for (const entry of this.watched.get(key) ?? []) void this.recheck(entry);
  }

  private end(entry: Watched, code: number, reason: string): void {
    if (entry.ended) return;
    this.unwatch(entry);
    try {
      entry.close(code, reason);
    } catch (error) {
      this.log.warn('close', `Closing a connection failed: ${(error as Error)?.message ?? String(error)}`);
    }
  }

  private unwatch(entry: Watched): void {
    entry.ended = true;
    clearTimeout(entry.timer);
    const set = this.watched.get(entry.key);
    if (set?.delete(entry) && set.size === 0) this.watched.delete(entry.key);
  }
}

/** Introspects a token for a connection or a message: the active result, or a `ConnectionRefusedError`. Internal. */
export async function checkToken(
  introspection: IntrospectionService,
  options: ResolvedOptions,
  token: string,
  presentation: TokenPresentation,
  caller?: string,
): Promise<ActiveIntrospectionResult> {
  let result;
  try {
    result = await introspection.introspect(token, { presentation, caller });
  } catch (error) {
    const retryAfter = error instanceof AuthorizationServerUnavailableError ? error.retryAfterSeconds : options.resilience.retryAfterSeconds;
    const reason = error instanceof AuthorizationServerUnavailableError ? error.reason : 'unexpected_error';
    throw new ConnectionRefusedError('temporarily_unavailable', 503, outageMessage({ reason, retryAfterSeconds: retryAfter }, options.exposeOutageReason), retryAfter);
  }
  if (!result.active) throw new ConnectionRefusedError('invalid_token', 401, describeInvalidToken(result.reason));
  return result;
}

/** The route's checks (`evaluateRouteChecks`) as a `ConnectionRefusedError`: 401-type → 4401 / 401, 403-type → 4403 / 403. Internal. */
export function routeRefusal(checks: RouteChecks, result: ActiveIntrospectionResult, roles: RoleExtractor, clockSkewSeconds: number): ConnectionRefusedError | undefined {
  const refusal = evaluateRouteChecks(checks, result, roles, clockSkewSeconds);
  if (!refusal) return undefined;
  if (refusal.error === 'insufficient_user_authentication') {
    return new ConnectionRefusedError(refusal.error, 401, refusal.description, undefined, { acrValues: refusal.acrValues, maxAge: refusal.maxAge });
  }
  return new ConnectionRefusedError(refusal.error, refusal.status, refusal.description);
}

/** What is needed of a socket: `ws` (`close(code, reason)`, `readyState`) or socket.io (`disconnect(true)`). */
export type SocketLike = object;

/** Closes a `ws` socket with a code and a reason (at most 123 bytes, RFC 6455 §5.5), or disconnects a socket.io one. */
export function closeSocket(socket: SocketLike, code: number, reason: string): void {
  const s = socket as { close?: (code?: number, reason?: string) => void; disconnect?: (close?: boolean) => void; readyState?: number };
  try {
    if (typeof s.readyState === 'number' && typeof s.close === 'function') {
      if (s.readyState === 2 || s.readyState === 3) return; // closing or closed
      s.close(code, truncate(reason));
    } else if (typeof s.disconnect === 'function') {
      s.disconnect(true);
    } else if (typeof s.close === 'function') {
      s.close(code, truncate(reason));
    }
  } catch {
    (socket as { terminate?: () => void }).terminate?.();
  }
}

function onSocketClose(socket: SocketLike, listener: () => void): void {
  const s = socket as { once?: (event: string, listener: () => void) => void; readyState?: number };
  if (s.readyState === 3) return listener();
  s.once?.('close', listener);
  s.once?.('disconnect', listener);
}

function truncate(reason: string): string {
  const bytes = Buffer.from(reason);
  return bytes.length <= 123 ? reason : bytes.subarray(0, 120).toString('utf8').replace(/\uFFFD$/, '') + '...';
}

function isCompiled(value: unknown): value is RouteChecks {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Array.isArray((value as { allRoles?: unknown }).allRoles);
}

function isExtraction(value: unknown): value is BearerExtraction {
  return typeof value === 'object' && value !== null && typeof (value as { kind?: unknown }).kind === 'string' &&
    ['token', 'missing', 'malformed', 'other_scheme'].includes((value as { kind: string }).kind);
}
