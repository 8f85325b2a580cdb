import { FaultyServer } from './faulty-server.js';

type Answer = Record<string, unknown>;

/**
 * A real HTTP server on 127.0.0.1 in front of a real authorization server's introspection endpoint, giving its
 * answers the shape of another server's: `reshape` rewrites each JSON answer (e.g. drops `aud`, `iss` or
 * `token_type`, as Glewlwyd and some Keycloak setups answer). Everything else (status, client authentication,
 * revocation state) is the real server's.
 *
 * oidc-provider cannot introspect its own JWT access tokens (400 unsupported_token_type); with `introspectJwts`
 * the proxy answers for them as an AS that can (Keycloak-like): `{ active: true, iss, sub, scope, client_id, exp }`
 * from the token's payload — no `aud`, no `token_type` — unless the JWT is in `revoked` (then `active: false`).
 */
export class ReshapingProxy {
  readonly revoked = new Set<string>();
  /** Introspection requests answered (forwarded or answered for a JWT). */
  introspections = 0;

  private constructor(readonly server: FaultyServer) {}

  static async start(introspectionEndpoint: string, reshape: (answer: Answer) => Answer, options: { introspectJwts?: boolean } = {}): Promise<ReshapingProxy> {
    let self: ReshapingProxy | undefined;
    const server = await FaultyServer.start(async (req, res, body) => {
      self!.introspections++;
      const token = new URLSearchParams(body).get('token') ?? '';
      if (options.introspectJwts && token.split('.').length === 3 && token.startsWith('eyJ')) {
        const { iss, sub, scope, client_id, exp } = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as Answer;
        const answer = self!.revoked.has(token) ? { active: false } : { active: true, iss, sub, scope, client_id, exp };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
        return;
      }
      const upstream = await fetch(introspectionEndpoint, {
        method: 'POST',
        headers: { 'content-type': req.headers['content-type'] ?? '', authorization: req.headers.authorization ?? '', accept: 'application/json' },
        body,
      });
      const text = await upstream.text();
      let out = text;
      if (upstream.status === 200) out = JSON.stringify(reshape(JSON.parse(text) as Answer));
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' }).end(out);
    });
    self = new ReshapingProxy(server);
    return self;
  }

  /** The proxied introspection endpoint. */
  get url(): string {
    return this.server.url;
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}

/** `reshape` helper: the answer without the named members. */
export function without(...members: string[]): (answer: Answer) => Answer {
  return (answer) => Object.fromEntries(Object.entries(answer).filter(([name]) => !members.includes(name)));
}
