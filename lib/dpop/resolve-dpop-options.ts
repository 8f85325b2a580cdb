import { randomBytes } from 'node:crypto';
import type { NumberReader } from '../options/option-readers.js';
import type { ResolvedTokenSourceOptions } from '../options/resolve-token-sources.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import type { DpopModuleOptions } from './dpop-options.interface.js';

/** Asymmetric algorithms jose verifies; proofs never use `none` or HMAC (RFC 9449 §4.2). */
const ASYMMETRIC = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']);
const DEFAULT_ALGORITHMS = ['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA', 'Ed25519'];
/** An RFC 9110 field name. */
const FIELD_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The `dpop` and `mtls` options (RFC 9449, RFC 8705), validated at start-up, each problem with what to change. */
export function resolveSenderConstraintOptions(o: DpopModuleOptions, problems: string[], num: NumberReader): Pick<ResolvedOptions, 'dpop' | 'mtls'> {
  const m = o.mtls ?? {};
  let certificateHeader: string | undefined;
  if (m.certificateHeader !== undefined) {
    if (typeof m.certificateHeader !== 'string' || !FIELD_NAME.test(m.certificateHeader)) {
      problems.push("`mtls.certificateHeader` must be an HTTP header name, e.g. 'x-ssl-client-cert'.");
    } else certificateHeader = m.certificateHeader.toLowerCase();
  }
  const mtls = { certificateHeader };
  if (o.dpop === false) return { dpop: false, mtls };
  if (o.dpop !== undefined && (o.dpop === null || typeof o.dpop !== 'object')) {
    problems.push('`dpop` must be an object (e.g. `{ required: true }`) or false.');
    return { dpop: false, mtls };
  }
  const d = o.dpop ?? {};
  const algorithms = d.algorithms ?? DEFAULT_ALGORITHMS;
  if (!Array.isArray(algorithms) || algorithms.length === 0 || !algorithms.every((a) => ASYMMETRIC.has(a))) {
    problems.push(`\`dpop.algorithms\` must list asymmetric JWS algorithms (from: ${[...ASYMMETRIC].join(', ')}); never none or HS*.`);
  }
  let externalOrigin: string | undefined;
  if (d.externalOrigin !== undefined) {
    try {
      const url = new URL(String(d.externalOrigin));
      if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.pathname !== '/' || url.search || url.hash) throw new Error();
      externalOrigin = url.origin;
    } catch {
      problems.push("`dpop.externalOrigin` must be an origin such as 'https://api.example.com' (scheme, host, optional port; no path).");
    }
  }
  let nonce: false | { secret: string; lifetimeMs: number } = false;
  if (d.nonce !== undefined && d.nonce !== false) {
    const n = d.nonce === true ? {} : d.nonce;
    if (n.secret !== undefined && (typeof n.secret !== 'string' || n.secret.length < 32)) {
      problems.push('`dpop.nonce.secret` must be a string of at least 32 characters (generate a random one; the same on every replica).');
    }
    const lifetime = num('dpop.nonce.lifetimeSeconds', n.lifetimeSeconds, 300, { min: 1, max: 86_400, unit: 'seconds' });
    nonce = { secret: n.secret ?? randomBytes(32).toString('base64url'), lifetimeMs: lifetime * 1000 };
  }
  if (d.required !== undefined && typeof d.required !== 'boolean') problems.push('`dpop.required` must be true or false.');
  if (d.trustForwardedHeaders !== undefined && typeof d.trustForwardedHeaders !== 'boolean') {
    problems.push('`dpop.trustForwardedHeaders` must be true or false.');
  }
  return {
    mtls,
    dpop: {
      required: d.required === true,
      algorithms: Array.isArray(algorithms) ? [...algorithms] : DEFAULT_ALGORITHMS,
      maxAgeSeconds: num('dpop.maxAgeSeconds', d.maxAgeSeconds, 60, { min: 1, max: 3600, unit: 'seconds' }),
      clockSkewSeconds: num('dpop.clockSkewSeconds', d.clockSkewSeconds, 5, { min: 0, max: 300, unit: 'seconds' }),
      maxProofLength: num('dpop.maxProofLength', d.maxProofLength, 8192, { min: 256, max: 65_536, unit: 'characters', integer: true }),
      replayCacheSize: num('dpop.replayCacheSize', d.replayCacheSize, 100_000, { min: 1, max: 10_000_000, unit: 'entries', integer: true }),
      nonce,
      externalOrigin,
      trustForwardedHeaders: d.trustForwardedHeaders === true,
    },
  };
}

/**
 * DPoP against the core options it depends on, once every resolver has run: the origin a proof names, and the
 * token sources (a DPoP token travels only in the Authorization header).
 */
export function checkDpopDelivery(
  o: DpopModuleOptions,
  senderConstraints: Pick<ResolvedOptions, 'dpop'>,
  tokenSourceOptions: Pick<ResolvedTokenSourceOptions, 'tokenSources'>,
  problems: string[],
  warnings: string[],
): void {
  if (senderConstraints.dpop && typeof o.dpop === 'object' && !senderConstraints.dpop.externalOrigin && !senderConstraints.dpop.trustForwardedHeaders) {
    warnings.push(
      "DPoP is configured without `dpop.externalOrigin`: the origin a proof must name (`htu`) is taken from the request's Host header, " +
        'which the client chooses — a proof made for another resource server that accepts the same token could be replayed here. ' +
        "Set `dpop.externalOrigin` to this API's public origin (e.g. 'https://api.example.com').",
    );
  }

  // DPoP tokens travel only as `Authorization: DPoP <token>` (RFC 9449 §7.1); other sources are read as bearer tokens.
  if (
    senderConstraints.dpop &&
    typeof o.dpop === 'object' &&
    o.dpop !== null &&
    tokenSourceOptions.tokenSources &&
    !tokenSourceOptions.tokenSources.some((source) => source.in === 'authorization')
  ) {
    const fix = "add { in: 'header' } (the Authorization header) to `tokenSources`";
    if (senderConstraints.dpop.required) {
      problems.push(
        `\`dpop.required\` is set but \`tokenSources\` leaves out the Authorization header, the only place a DPoP token can be sent (RFC 9449 §7.1): every request would be refused. ${fix}, or drop \`dpop.required\`.`,
      );
    } else {
      warnings.push(
        `DPoP is configured but \`tokenSources\` leaves out the Authorization header, the only place a DPoP token can be sent (RFC 9449 §7.1): DPoP clients cannot call this API. ${fix}, or set \`dpop: false\`.`,
      );
    }
  }
}
