import { HttpException } from '@nestjs/common';
import { withResourceMetadata } from './bearer.js';

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  503: 'Service Unavailable',
};

/**
 * Sets the response headers and returns the HTTP exception Nest turns into the response body
 * (`{ statusCode, message, error }`). Headers go through the response's own `header()` so Express and Fastify
 * behave the same. With `metadataUrl` (RFC 9728 §5.1) every challenge tells the client where this resource's metadata is.
 */
export function rejection(response: any, status: number, headers: Record<string, string | string[]>, message: string, metadataUrl?: string): HttpException {
  const challenges = headers['WWW-Authenticate'];
  if (metadataUrl && challenges) {
    headers = {
      ...headers,
      'WWW-Authenticate': Array.isArray(challenges)
        ? challenges.map((c) => withResourceMetadata(c, metadataUrl))
        : withResourceMetadata(challenges, metadataUrl),
    };
  }
  if (response) {
    for (const [name, value] of Object.entries(headers)) {
      if (typeof response.header === 'function') response.header(name, value);
      else if (typeof response.setHeader === 'function') response.setHeader(name, value);
    }
  }
  return new HttpException({ statusCode: status, message, error: STATUS_TEXT[status] ?? 'Error' }, status);
}
