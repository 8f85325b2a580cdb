import type { INestApplication } from '@nestjs/common';
import { McpSampleModule } from '../../sample/mcp/mcp-server.module.js';
import { createTestApp, type AdapterName } from './app.js';
import { CLIENTS, type TestAuthorizationServer } from './authorization-server.js';
import { freePort } from './free-port.js';

/**
 * The MCP server sample in front of `as`, listening on 127.0.0.1 at a port chosen first (its `resource`,
 * `${origin}/mcp`, is configured before it starts); JWTs validated with the AS's issuer, as CLIENTS.basic.
 */
export async function startMcpSample(adapter: AdapterName, as: TestAuthorizationServer): Promise<{ app: INestApplication; origin: string; resource: string }> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const resource = `${origin}/mcp`;
  const app = await createTestApp(adapter, [
    McpSampleModule.forRoot({ resource, introspection: { issuer: as.issuer, ...CLIENTS.basic, allowInsecureRequests: true } }),
  ]);
  await app.listen(port, '127.0.0.1');
  return { app, origin, resource };
}
