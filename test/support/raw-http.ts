import { request, type Agent, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';

/** A response as the client received it: status, parsed headers, raw header lines (duplicates kept) and body. */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
}

/**
 * One real HTTP/1.1 request with node:http (the path is sent as given, percent-encodings and all): for the
 * gateway suites, which look at every header line the gateway sent back.
 */
export function httpCall(
  url: string,
  init: { method?: string; headers?: OutgoingHttpHeaders; body?: string; agent?: Agent; timeoutMs?: number } = {},
): Promise<RawResponse> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        // Keep the path exactly as written (URL would normalise nothing here, but a caller's raw path must stay raw).
        path: url.slice(url.indexOf('/', url.indexOf('//') + 2)),
        method: init.method ?? 'GET',
        headers: init.headers,
        agent: init.agent,
        timeout: init.timeoutMs ?? 10_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${init.timeoutMs ?? 10_000} ms`)));
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Every value of header `name` in the raw header lines, in order (case-insensitive name). */
export function headerValues(rawHeaders: string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i].toLowerCase() === name.toLowerCase()) values.push(rawHeaders[i + 1]);
  return values;
}
