/** Reads a numeric option: `fallback` when absent; otherwise the value, or a problem (and `fallback`) when out of range. */
export type NumberReader = (name: string, value: unknown, fallback: number, rule: { min: number; max: number; unit: string; integer?: boolean }) => number;

/** A `NumberReader` that reports into `problems`. */
export function numberReader(problems: string[]): NumberReader {
  return (name: string, value: unknown, fallback: number, rule: { min: number; max: number; unit: string; integer?: boolean }): number => {
    if (value === undefined) return fallback;
    const ok = typeof value === 'number' && Number.isFinite(value) && value >= rule.min && value <= rule.max && (!rule.integer || Number.isInteger(value));
    if (!ok) {
      problems.push(
        `\`${name}\` is ${JSON.stringify(value)}: it must be ${rule.integer ? 'a whole number' : 'a number'} of ${rule.unit} ` +
          `between ${rule.min} and ${rule.max}.`,
      );
      return fallback;
    }
    return value;
  };
}

/** An authorization-server URL option: https:// (http:// only with `allowInsecureRequests`), else a problem and undefined. */
export function parseUrl(name: string, value: unknown, allowInsecure: boolean, problems: string[]): URL | undefined {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    problems.push(`\`${name}\` is not a valid absolute URL: '${String(value)}'.`);
    return undefined;
  }
  if (url.protocol === 'http:' && !allowInsecure) {
    problems.push(
      `\`${name}\` uses http:// ('${url.origin}'): tokens and client credentials would travel in clear text. ` +
        'Use https://, or set `allowInsecureRequests: true` for local development only.',
    );
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    problems.push(`\`${name}\` must be an https:// URL, not '${url.protocol}'.`);
    return undefined;
  }
  return url;
}
