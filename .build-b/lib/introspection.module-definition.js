import { ConfigurableModuleBuilder } from '@nestjs/common';
import { createRevocationWebhookController } from './revocation/revocation-webhook.controller.js';
import { createPhantomJwksController } from './phantom/phantom-jwks.controller.js';
import { createSecurityEventReceiverController } from './push/security-event-receiver.controller.js';
import { createBackchannelLogoutReceiverController } from './push/backchannel-logout-receiver.controller.js';
export const { ConfigurableModuleClass: ConfigurableIntrospectionModule, MODULE_OPTIONS_TOKEN: INTROSPECTION_MODULE_OPTIONS, OPTIONS_TYPE: INTROSPECTION_OPTIONS_TYPE, ASYNC_OPTIONS_TYPE: INTROSPECTION_ASYNC_OPTIONS_TYPE, } = new ConfigurableModuleBuilder({ moduleName: 'TokenIntrospection' })
    .setClassMethodName('forRoot')
    .setFactoryMethodName('createIntrospectionOptions')
    .setExtras({ isGlobal: true }, (definition, extras) => ({
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
