/** How this API authenticates to the introspection endpoint. */
export type ClientAuthMethod =
  /** HTTP Basic with client id and secret (RFC 6749 §2.3.1). The default. */
  | 'client_secret_basic'
  /** `client_id` and `client_secret` in the form body. */
  | 'client_secret_post'
  /** A JWT signed with `privateKey` (RFC 7523 / OpenID Connect Core §9). */
  | 'private_key_jwt'
  /**
   * An access token of our own (`Authorization: Bearer`), obtained from `tokenEndpoint` with the
   * client-credentials grant (authenticated with `clientSecret`, or `privateKey`), renewed before expiry,
   * and re-fetched once when the introspection endpoint refuses it.
   */
  | 'client_credentials_bearer';
