import type { ResolvedDpopOptions } from '../options/resolved-options.js';

/**
 * The absolute URI the client addressed, for a DPoP proof's `htu` (RFC 9449 §4.3): `dpop.externalOrigin`, or
 * `X-Forwarded-Proto`/`-Host` when `dpop.trustForwardedHeaders`, or the request's own scheme and Host header; then
 * the path (query and fragment are ignored by the comparison). Without DPoP options: the request's scheme and Host.
 */
export function absoluteRequestUri(request: any, dpop: Pick<ResolvedDpopOptions, 'externalOrigin' | 'trustForwardedHeaders'> | undefined): string {
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
  if (dpop?.externalOrigin) return dpop.externalOrigin + path;
  const headers = request.headers ?? {};
  const first = (value: unknown) => (typeof value === 'string' ? value.split(',')[0].trim() : undefined);
  // Forwarded values: the nearest proxy's is the last one (a proxy that appends keeps the client's first).
  const last = (value: unknown) => (typeof value === 'string' ? value.split(',').pop()!.trim() : undefined);
  let proto = raw.socket?.encrypted ? 'https' : 'http';
  let host = first(headers.host);
  if (dpop?.trustForwardedHeaders) {
    proto = last(headers['x-forwarded-proto']) ?? proto;
    host = last(headers['x-forwarded-host']) ?? host;
  }
  return `${proto}://${host ?? 'invalid.host'}${path}`;
}
