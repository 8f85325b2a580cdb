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

/** Scopes each tool needs beyond the endpoint's own `read`. */
const TOOL_SCOPES: Record<string, string[]> = { create_order: ['write'] };

export interface McpSampleOptions {
  /** The MCP endpoint's public URL, e.g. `https://mcp.example.com/mcp`: the RFC 9728 resource identifier. */
  resource: string;
  /** How this server introspects tokens (issuer or endpoint, client id and secret...). */
  introspection: Omit<IntrospectionModuleOptions, 'resourceMetadata'>;
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

function createMcpController(resource: string) {
  const resourceMetadata = protectedResourceMetadataUrl(resource);
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
      if (request.method !== 'POST') {
        raw.res.writeHead(405, { allow: 'POST', 'content-type': 'application/json' }).end(
          JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null }),
        );
        return;
      }
      // A tool needing a scope the token lacks: 403 insufficient_scope before the call reaches the tool (MCP "scope challenge").
      const messages = Array.isArray(request.body) ? request.body : [request.body];
      for (const message of messages) {
        const needed = message?.method === 'tools/call' ? (TOOL_SCOPES[message?.params?.name] ?? []) : [];
        const missing = needed.filter((scope) => !token.scopes.includes(scope));
        if (missing.length > 0) {
          const scope = [...new Set([...token.scopes, ...needed])].join(' ');
          raw.res.writeHead(403, {
            'content-type': 'application/json',
            'www-authenticate': bearerChallenge({ error: 'insufficient_scope', description: `The tool needs: ${needed.join(' ')}`, scope, resourceMetadata }),
          }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: `Insufficient scope: ${missing.join(' ')}` }, id: message?.id ?? null }));
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
      imports: [IntrospectionModule.forRoot({ ...options.introspection, resourceMetadata: { resource: options.resource, scopesSupported: ['read', 'write'], resourceName: 'Orders MCP server' } } as IntrospectionModuleOptions)],
      controllers: [createMcpController(options.resource)],
    };
  }
}
