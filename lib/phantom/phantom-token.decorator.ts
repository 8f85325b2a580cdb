import { createParamDecorator, HttpException, HttpStatus, Inject, Injectable, type ExecutionContext, type PipeTransform } from '@nestjs/common';
import { AuthorizationServerUnavailableError, describeInvalidToken, InvalidTokenError } from '../errors/introspection.errors.js';
import { bearerChallenge } from '../guard/bearer.js';
import { PHANTOM_AUDIENCES_KEY } from '../introspection.constants.js';
import { requestOf, responseOf } from '../guard/execution-context.js';
import { PhantomTokenError, PhantomTokenService, type PhantomAudienceUse } from './phantom-token.service.js';

interface PhantomRequest {
  readonly request: object | undefined;
  readonly response: any;
  readonly audience?: string;
}

/**
 * Turns the request into its phantom token. A source token refused since the guard accepted it (an
 * eviction in between) answers 401 `invalid_token`; an authorization server that cannot say answers
 * 503 + Retry-After — never a 500.
 */
@Injectable()
export class PhantomTokenPipe implements PipeTransform<PhantomRequest, Promise<string>> {
  constructor(@Inject(PhantomTokenService) private readonly phantom: PhantomTokenService) {}

  async transform(value: PhantomRequest): Promise<string> {
    try {
      return await this.phantom.forRequest(value.request ?? {}, value.audience);
    } catch (error) {
      if (error instanceof InvalidTokenError) {
        const description = describeInvalidToken(error.reason);
        setHeader(value.response, 'WWW-Authenticate', bearerChallenge({ error: 'invalid_token', description }));
        throw new HttpException({ statusCode: 401, error: 'invalid_token', message: description }, HttpStatus.UNAUTHORIZED);
      }
      if (error instanceof PhantomTokenError && error.code === 'no_validated_token') {
        // A `fail-open` route during an outage has no identity to pass on: the outage, not a 500.
        const outage = (value.request as { introspectionOutage?: { retryAfterSeconds?: number } } | undefined)?.introspectionOutage;
        if (outage) {
          setHeader(value.response, 'Retry-After', String(outage.retryAfterSeconds ?? 1));
          throw new HttpException({ statusCode: 503, message: 'The authorization server is unavailable.' }, HttpStatus.SERVICE_UNAVAILABLE);
        }
        // A @Public() route called without a token: RFC 6750 §3.1, a bare challenge — never a 500.
        setHeader(value.response, 'WWW-Authenticate', bearerChallenge({}));
        throw new HttpException(
          { statusCode: 401, message: 'An access token is required: send Authorization: Bearer <token>.', error: 'Unauthorized' },
          HttpStatus.UNAUTHORIZED,
        );
      }
      if (error instanceof AuthorizationServerUnavailableError) {
        setHeader(value.response, 'Retry-After', String(error.retryAfterSeconds));
        throw new HttpException({ statusCode: 503, message: 'The authorization server is unavailable.' }, HttpStatus.SERVICE_UNAVAILABLE);
      }
      throw error;
    }
  }
}

function setHeader(response: any, name: string, value: string): void {
  if (typeof response?.header === 'function') response.header(name, value);
  else if (typeof response?.setHeader === 'function') response.setHeader(name, value);
}

const phantomRequest = createParamDecorator((audience: string | undefined, context: ExecutionContext): PhantomRequest => ({
  request: requestOf(context),
  response: responseOf(context),
  audience,
}));

/**
 * `@PhantomToken()` / `@PhantomToken('https://orders.internal')`: a phantom token (a short-lived JWT for
 * an internal service) minted from this request's validated token, for the given audience (default:
 * the first of `phantom.audiences`). Needs the `phantom` option; on a route `TokenGuard` protects.
 */
export function PhantomToken(audience?: string): ParameterDecorator {
  // `@PhantomToken(undefined)` (an unset variable, say) is not `@PhantomToken()`: a start-up error, not the default audience.
  const explicitUndefined = arguments.length > 0 && audience === undefined;
  const parameter = phantomRequest(audience, PhantomTokenPipe);
  return (target, key, index) => {
    parameter(target, key, index);
    // Recorded for the start-up check: an audience outside `phantom.audiences` fails start-up, not each call.
    if (key === undefined) return;
    const declared = (Reflect.getMetadata(PHANTOM_AUDIENCES_KEY, target.constructor, key) as PhantomAudienceUse[] | undefined) ?? [];
    const use: PhantomAudienceUse = explicitUndefined ? { explicitUndefined: true } : audience === undefined ? null : audience;
    Reflect.defineMetadata(PHANTOM_AUDIENCES_KEY, [...declared, use], target.constructor, key);
  };
}
