import { Inject, Injectable, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  INTROSPECTION_TELEMETRY,
  IntrospectionService,
  RESOLVED_OPTIONS,
  TokenGuard,
  type IntrospectionTelemetry,
  type ResolvedOptions,
} from '../../lib/index.js';

/** A `TokenGuard` subclass with its own constructor, as apps write them (the guard's own optional parameters left out). */
@Injectable()
export class SubclassedGuard extends TokenGuard {
  constructor(
    reflector: Reflector,
    introspection: IntrospectionService,
    @Inject(RESOLVED_OPTIONS) options: ResolvedOptions,
    @Optional() @Inject(INTROSPECTION_TELEMETRY) telemetry?: IntrospectionTelemetry,
  ) {
    super(reflector, introspection, options, telemetry);
  }
}
