import { Controller, HttpCode, Module, All, Req, Res, type DynamicModule } from '@nestjs/common';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  bearerChallenge,
  Introspected,
  IntrospectionModule,
  protectedResourceMetadataUrl,
  Scopes,
  type ActiveIntrospectionResult,
  type IntrospectionModuleOptions,
} from 'nestjs-token-introspection';

/**
 * An MCP server (Model Context Protocol, Streamable HTTP transport, stateless) protected by this library:
 * - the guard accepts only active tokens whose `aud` is this MCP server (`resourceMetadata.resource`);
 * - RFC 9728 metadata at `/.well-known/oauth-protected-resource/mcp` tells MCP clients where to get tokens;
 * - every 401 points there (`resource_metadata="…"`), which is how MCP clients start authorization;
 * - a tool that needs more than the route's scope answers 403 `insufficient_scope` with the scope to ask for.
 */

/** Scopes each tool needs beyond the endpoint's own `read`. A Map: a tool named `constructor` or `__proto__` finds nothing. */
const TOOL_SCOPES = new Map<unknown, readonly string[]>([['create_order', ['write']]]);

export interface McpSampleOptions {
  /** The MCP endpoint's public URL, e.g. `https://mcp.example.com/mcp`: the RFC 9728 resource identifier. */
  resource: string;
  /** How this server introspects tokens (issuer or endpoint, client id and secret...). */
  introspection: Omit<IntrospectionModuleOptions, 'resourceMetadata'>;
  /**
   * DNS-rebinding protection: the `Host` values served (default: the host of `resource`). Behind a proxy that
   * rewrites `Host`, list what reaches the app.
   */
  allowedHosts?: string[];
  /** `Origin` values served when a browser sends one (default: the origin of `resource`). Requests without `Origin` pass. */
  allowedOrigins?: string[];
}

function buildMcpServer(token: ActiveIntrospectionResult): McpServer {
  const server = new McpServer({ name: 'orders-mcp', version: '1.0.0' });
  server.registerTool('whoami', { description: 'Who is calling (from the introspection result).' }, async () => ({
    content: [{ type: 'text', text: JSON.stringify({ client_id: token.client_id, scopes: token.scopes }) }],
  }));
  server.registerTool('create_order', { description: 'Creates an order (needs the write scope).' }, async () => ({
    content: [{ type: 'text', text: JSON.stringify({ created: true }) }],
  }));
  return server;
}

function jsonRpcError(res: any, status: number, code: number, message: string, id: unknown = null, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id }));
}

function createMcpController(options: McpSampleOptions) {
  const { resource } = options;
  const resourceMetadata = protectedResourceMetadataUrl(resource);
  const allowedHosts = options.allowedHosts ?? [new URL(resource).host];
  const allowedOrigins = options.allowedOrigins ?? [new URL(resource).origin];
  const path = new URL(resource).pathname.replace(/^\//, '');

  @Controller(path)
  @Scopes('read')
  class McpController {
    /** POST carries JSON-RPC messages; GET (server-sent events) and DELETE (sessions) are not offered by this stateless server. */
    @All()
    @HttpCode(200)
    async handle(@Req() request: any, @Res() response: any, @Introspected() token: ActiveIntrospectionResult): Promise<void> {
      const raw = { req: request.raw ?? request, res: response.raw ?? response };
      if (typeof response.hijack === 'function') response.hijack(); // Fastify: the transport writes the raw response
      // From here on Nest no longer answers for us (Fastify: hijacked): every failure must still get a JSON-RPC answer.
      try {
        await this.serve(request, raw, token);
      } catch {
        if (!raw.res.headersSent) jsonRpcError(raw.res, 500, -32603, 'Internal error.');
        else raw.res.end();
      }
    }

    private async serve(request: any, raw: { req: any; res: any }, token: ActiveIntrospectionResult): Promise<void> {
      // DNS rebinding (MCP transport security): a browser page on another site must not reach this server through a
      // name that resolves to it. Host must be ours; Origin, when a browser sends one, too.
      const host = request.headers.host;
      const origin = request.headers.origin;
      if (typeof host !== 'string' || !allowedHosts.includes(host) || (origin !== undefined && !allowedOrigins.includes(origin))) {
        jsonRpcError(raw.res, 403, -32000, 'Host or Origin not allowed.');
        return;
      }
      if (request.method !== 'POST') {
        jsonRpcError(raw.res, 405, -32000, 'Method not allowed.', null, { allow: 'POST' });
        return;
      }
      // A tool needing a scope the token lacks: 403 insufficient_scope before the call reaches the tool (MCP "scope challenge").
      const messages = Array.isArray(request.body) ? request.body : [request.body];
      for (const message of messages) {
        const needed = message?.method === 'tools/call' ? (TOOL_SCOPES.get(message?.params?.name) ?? []) : [];
        const missing = needed.filter((scope) => !token.scopes.includes(scope));
        if (missing.length > 0) {
          const scope = [...new Set([...token.scopes, ...needed])].join(' ');
          jsonRpcError(raw.res, 403, -32001, `Insufficient scope: ${missing.join(' ')}`, message?.id ?? null, {
            'www-authenticate': bearerChallenge({ error: 'insufficient_scope', description: `The tool needs: ${needed.join(' ')}`, scope, resourceMetadata }),
          });
          return;
        }
      }
      // The SDK hands `req.auth` to tool handlers as `extra.authInfo`.
      raw.req.auth = {
        token: String(request.headers.authorization ?? '').replace(/^\S+\s+/, ''),
        clientId: token.client_id ?? '',
        scopes: [...token.scopes],
        expiresAt: token.exp,
        resource: new URL(resource),
        extra: { sub: token.sub },
      };
      const server = buildMcpServer(token);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      raw.res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(raw.req, raw.res, request.body);
    }
  }
  return McpController;
}

/** The MCP server as a Nest module: `McpSampleModule.forRoot({ resource, introspection })`. */
@Module({})
export class McpSampleModule {
  static forRoot(options: McpSampleOptions): DynamicModule {
    return {
      module: McpSampleModule,
      imports: [
        IntrospectionModule.forRoot({
          ...options.introspection,
          resourceMetadata: { resource: options.resource, scopesSupported: ['read', 'write'], resourceName: 'Orders MCP server' },
        }),
      ],
      controllers: [createMcpController(options)],
    };
  }
}
