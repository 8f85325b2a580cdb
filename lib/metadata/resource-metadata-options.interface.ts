/**
 * RFC 9728 OAuth 2.0 Protected Resource Metadata of one protected resource (this API, or one part of it),
 * published at `/.well-known/oauth-protected-resource` + the resource's path. Field names are camelCase
 * forms of the RFC's (§2); each is published only when set or derivable.
 */
export interface ProtectedResourceMetadataOptions {
  /**
   * The resource identifier (RFC 9728 §1.2, RFC 8707): the absolute `https://` URL clients use for this API,
   * without query or fragment, e.g. `'https://api.example.com'` or `'https://api.example.com/mcp'`.
   * `http://` only for `localhost`, `127.0.0.1` and `[::1]` (development). The metadata is served at
   * `<origin>/.well-known/oauth-protected-resource<path>` (§3.1), and every 401 challenge points there
   * (`resource_metadata="…"`). Unless `audience` is set, tokens must carry it in `aud`.
   */
  resource: string;
  /** `authorization_servers`: issuer identifiers of the authorization servers. Default: `[expectedIssuer ?? issuer]`. */
  authorizationServers?: string[];
  /** `scopes_supported`: scopes clients may request for this resource. Default: not published. */
  scopesSupported?: string[];
  /**
   * `bearer_methods_supported` (RFC 6750 §2 methods: `header`, `body`, `query`). Default: derived from
   * `tokenSources` — `'header'` when the Authorization header is a source (the default), `'query'` when the
   * query-string source is enabled; cookies and custom headers are no RFC 6750 methods and are not listed
   * (only those: `[]`). Set it to publish something else; a value given here is published as is.
   */
  bearerMethodsSupported?: Array<'header' | 'body' | 'query'>;
  /** `resource_name`: human-readable name of the resource. */
  resourceName?: string;
  /** `resource_documentation`: URL of developer documentation. */
  resourceDocumentation?: string;
  /** `resource_policy_uri`: URL of the data-use policy. */
  resourcePolicyUri?: string;
  /** `resource_tos_uri`: URL of the terms of service. */
  resourceTosUri?: string;
  /** `jwks_uri`: this resource's own public keys (e.g. the absolute URL of the module extra `phantomJwksPath`). */
  jwksUri?: string;
  /** `resource_signing_alg_values_supported`: JWS algorithms this resource signs responses with. */
  resourceSigningAlgValuesSupported?: string[];
  /** `authorization_details_types_supported` (RFC 9396). */
  authorizationDetailsTypesSupported?: string[];
  /**
   * `tls_client_certificate_bound_access_tokens` (RFC 8705). Default: true when `mtls.certificateHeader`
   * is configured, else not published (false).
   */
  tlsClientCertificateBoundAccessTokens?: boolean;
  /**
   * Further members published as given (extensions), e.g. `{ mcp_version: '…' }`. Must be JSON; cannot
   * replace `resource`. `dpop_signing_alg_values_supported` / `dpop_bound_access_tokens_required` are
   * derived from the `dpop` option (algorithms, `required`) unless `dpop: false`.
   */
  additionalMetadata?: Record<string, unknown>;
  /** `Cache-Control: public, max-age=<this>` on the metadata response, seconds. Default 3,600. */
  cacheMaxAgeSeconds?: number;
}

/** The RFC 9728 metadata capability's slice of `IntrospectionModuleOptions`. */
export interface MetadataModuleOptions {
  /**
   * RFC 9728 protected-resource metadata, one entry per protected resource of this app (an MCP server
   * needs it). Published at `/.well-known/oauth-protected-resource<path of the resource>` on the HTTP
   * server's root (a global prefix does not apply), referenced by every
   * challenge (`resource_metadata="…"`), and the default `audience`. Default: off.
   */
  resourceMetadata?: ProtectedResourceMetadataOptions | ProtectedResourceMetadataOptions[];
}
