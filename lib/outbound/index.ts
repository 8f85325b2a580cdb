/**
 * This API's own access tokens for the backends it calls (`outbound` option): `OutboundTokenService` (`fetch`,
 * `getToken`) and `attachOutboundToken(httpService, outbound, backend)` for axios instances.
 * The public names of the outbound capability; the root entry point re-exports them.
 */
export { OutboundTokenService } from './outbound-token.service.js';
export type { OutboundBackendOptions } from './outbound-options.interface.js';
export { attachOutboundToken } from './outbound-axios.interceptor.js';
export type { OutboundAxiosInstance, OutboundBackendSelector } from './outbound-axios.interceptor.js';
export type { OutboundModuleOptions } from './outbound-options.interface.js';
