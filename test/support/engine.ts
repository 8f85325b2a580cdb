import 'reflect-metadata';
import { Logger, type LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { IntrospectionModule, IntrospectionService, type IntrospectionModuleOptions } from '../../lib/index.js';

/** A Nest application context with the module configured as a user would, and its service. */
export async function createEngine(options: IntrospectionModuleOptions) {
  // The start-up check (on by default) would add a call to the AS that suites counting calls do not expect.
  const moduleRef = await Test.createTestingModule({ imports: [IntrospectionModule.forRoot({ verifyOnStartup: false, ...options })] })
    .setLogger(quietLogger)
    .compile();
  await moduleRef.init();
  return { service: moduleRef.get(IntrospectionService), close: () => moduleRef.close(), moduleRef };
}

/** Captures every log line instead of printing it (tests assert on them, e.g. that no token leaks). */
export const capturedLogs: string[] = [];
export const quietLogger: LoggerService = {
  log: (m: unknown, ...rest: unknown[]) => void capturedLogs.push([m, ...rest].map(String).join(' ')),
  warn: (m: unknown, ...rest: unknown[]) => void capturedLogs.push([m, ...rest].map(String).join(' ')),
  error: (m: unknown, ...rest: unknown[]) => void capturedLogs.push([m, ...rest].map(String).join(' ')),
  debug: (m: unknown, ...rest: unknown[]) => void capturedLogs.push([m, ...rest].map(String).join(' ')),
  verbose: (m: unknown, ...rest: unknown[]) => void capturedLogs.push([m, ...rest].map(String).join(' ')),
};
Logger.overrideLogger(quietLogger);

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
