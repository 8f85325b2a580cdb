import { DpopProofError } from '../errors/introspection.errors.js';
import type { TokenPresentation } from '../interfaces/introspection-result.interface.js';
import type { ResolvedDpopOptions } from '../options/resolved-options.js';
import type { PresentationRefusal, PresentationVerifier, ProofVerifier, VerifiedDpopProof } from '../ports.js';

/**
 * The DPoP scheme at the HTTP guard (RFC 9449 §7): the request's `DPoP` header is verified before the token is
 * looked up, and recorded as used once the token is accepted. Attached to the resolved options (`attachPresentation`)
 * and built by `TokenGuard` on the proof methods of the engine it was given, so a subclassed or hand-built guard keeps
 * DPoP, and an engine that overrides `verifyDpopProof()` is honoured.
 */
export class DpopPresentation implements PresentationVerifier {
  constructor(
    private readonly proofs: ProofVerifier,
    private readonly options: ResolvedDpopOptions,
  ) {}

  /**
   * The absolute URI the client addressed, for the proof's `htu` (RFC 9449 §4.3): `dpop.externalOrigin`,
   * or `X-Forwarded-Proto`/`-Host` when `dpop.trustForwardedHeaders`, or the request's own scheme and
   * Host header; then the path (query and fragment are ignored by the comparison).
   */
  requestUri(request: any): string {
    const raw = request.raw ?? request;
    let path: string = request.originalUrl ?? raw.url ?? request.url ?? '/';
    // RFC 9112 §3.2.2: an absolute-form target (proxies send one) — only its path counts here.
    if (/^https?:\/\//i.test(path)) {
      try {
        const target = new URL(path);
        path = target.pathname + target.search;
      } catch {
        path = '/';
      }
    }
    const dpop = this.options;
    if (dpop.externalOrigin) return dpop.externalOrigin + path;
    const headers = request.headers ?? {};
    const first = (value: unknown) => (typeof value === 'string' ? value.split(',')[0].trim() : undefined);
    // Forwarded values: the nearest proxy's is the last one (a proxy that appends keeps the client's first).
    const last = (value: unknown) => (typeof value === 'string' ? value.split(',').pop()!.trim() : undefined);
    let proto = raw.socket?.encrypted ? 'https' : 'http';
    let host = first(headers.host);
    if (dpop.trustForwardedHeaders) {
      proto = last(headers['x-forwarded-proto']) ?? proto;
      host = last(headers['x-forwarded-host']) ?? host;
    }
    return `${proto}://${host ?? 'invalid.host'}${path}`;
  }

  /** RFC 9449 §4.3: exactly one `DPoP` header holding a valid proof for this request and token. */
  async verify(
    request: any,
    uri: string,
    token: string,
    certificateThumbprint: string | undefined,
  ): Promise<{ presentation: TokenPresentation; proof: VerifiedDpopProof }> {
    // Node joins repeated headers with ", ": a compact JWS holds neither a comma nor a space.
    const proof: unknown = request.headers?.dpop;
    if (typeof proof !== 'string' || proof.length === 0 || /[,\s]/.test(proof)) {
      throw new DpopProofError('invalid_dpop_proof', 'Send exactly one DPoP header with a DPoP proof.');
    }
    const verified = await this.proofs.verify(proof, { method: request.method, uri, accessToken: token });
    return { presentation: { scheme: 'dpop', dpopJkt: verified.jkt, certificateThumbprint }, proof: verified };
  }

  /** Records the proof of an accepted token (jti replay check across replicas); rejects on a replay. */
  consume(proof: VerifiedDpopProof): Promise<void> {
    return this.proofs.consume(proof);
  }

  /** 401 `invalid_dpop_proof` / `use_dpop_nonce` (RFC 9449 §7.1), with a fresh `DPoP-Nonce` when nonces are on. */
  refusal(error: unknown): PresentationRefusal {
    const expected = error instanceof DpopProofError;
    const refusal = expected ? error : new DpopProofError('invalid_dpop_proof', 'The DPoP proof could not be verified.');
    const nonce = this.proofs.currentNonce();
    return { error: refusal.error, description: refusal.message, headers: nonce ? { 'DPoP-Nonce': nonce } : {}, unexpected: !expected };
  }
}
