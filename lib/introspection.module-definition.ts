import { ConfigurableModuleBuilder } from '@nestjs/common';
import { createRevocationWebhookController, type RevocationWebhookOptions } from './push/revocation-webhook.controller.js';
import { createPhantomJwksController } from './phantom/phantom-jwks.controller.js';
import type { IntrospectionModuleOptions } from './interfaces/introspection-module-options.interface.js';
import { createSecurityEventReceiverController } from './push/security-event-receiver.controller.js';
import { createBackchannelLogoutReceiverController } from './push/backchannel-logout-receiver.controller.js';
import type { BackchannelLogoutReceiverRoute, SecurityEventReceiverRoute } from './push/push-options.interface.js';

export const {
  ConfigurableModuleClass: ConfigurableIntrospectionModule,
  MODULE_OPTIONS_TOKEN: INTROSPECTION_MODULE_OPTIONS,
  OPTIONS_TYPE: INTROSPECTION_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: INTROSPECTION_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<IntrospectionModuleOptions>({ moduleName: 'TokenIntrospection' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createIntrospectionOptions')
  .setExtras<{
    isGlobal?: boolean;
    revocationWebhook?: RevocationWebhookOptions;
    phantomJwksPath?: string;
    /** OpenID Shared Signals receiver (RFC 8935 push), configured by the `securityEvents` option. */
    securityEventReceiver?: SecurityEventReceiverRoute;
    /** OpenID Connect Back-Channel Logout receiver, configured by the `backchannelLogout` option. */
    backchannelLogoutReceiver?: BackchannelLogoutReceiverRoute;
  }>({ isGlobal: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
    // Static (known before options resolve), so it works with forRootAsync too.
    controllers: [
      ...(extras.revocationWebhook ? [createRevocationWebhookController(extras.revocationWebhook)] : []),
      // The phantom-token JWKS route (see `PhantomTokenService.jwks()` to serve it from a controller of your own).
      ...(extras.phantomJwksPath ? [createPhantomJwksController(extras.phantomJwksPath)] : []),
      // Push receivers: verified revocations from the authorization server, evicted on every replica.
      ...(extras.securityEventReceiver ? [createSecurityEventReceiverController(extras.securityEventReceiver)] : []),
      ...(extras.backchannelLogoutReceiver ? [createBackchannelLogoutReceiverController(extras.backchannelLogoutReceiver)] : []),
    ],
  }))
  .build();
