/**
 * Pushed revocations: the revocation webhook (`RevocationNotification`), OpenID Shared Signals SETs (RFC 8935 push, CAEP
 * events) and OpenID Connect Back-Channel Logout tokens, verified with the sender's keys, evicting by session, subject or
 * jti on every replica. The public names of the push capability; the root entry point re-exports them.
 */
export type { RevocationNotification } from './revocation-webhook.controller.js';
export type {
  BackchannelLogoutOptions,
  BackchannelLogoutReceiverRoute,
  PushReceiverScope,
  SecurityEventReceiverRoute,
  SecurityEventsOptions,
} from './push-options.interface.js';
export { CAEP_EVENTS } from './security-event-receiver.controller.js';
export { BACKCHANNEL_LOGOUT_EVENT } from './backchannel-logout-receiver.controller.js';
export type { PushModuleOptions } from './push-options.interface.js';
