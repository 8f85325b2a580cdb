import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DpopProofError as RootDpopProofError, IntrospectionModule } from 'nestjs-token-introspection';
import { DpopProofError } from 'nestjs-token-introspection/dpop';
import { protectedResourceMetadataUrl } from 'nestjs-token-introspection/metadata';

// Subpath entry points hand out the root's own classes (one module instance), with their types.
if (DpopProofError !== RootDpopProofError) throw new Error('nestjs-token-introspection/dpop is another module instance than the root');
if (protectedResourceMetadataUrl('https://api.example.com/mcp') !== 'https://api.example.com/.well-known/oauth-protected-resource/mcp') {
  throw new Error('nestjs-token-introspection/metadata: wrong protectedResourceMetadataUrl');
}
import { AppController } from './app.controller.js';
import { AppService } from './app.service.js';
import { HealthController } from './health.controller.js';
import { OrdersController } from './orders.controller.js';

// The generated module plus the README's quick start and health check.
@Module({
  imports: [
    TerminusModule,
    IntrospectionModule.forRoot({
      issuer: process.env.AUTH_ISSUER ?? 'https://auth.example.com',
      clientId: process.env.AUTH_CLIENT_ID ?? 'orders-api',
      clientSecret: process.env.AUTH_CLIENT_SECRET,
      allowInsecureRequests: process.env.AUTH_ALLOW_INSECURE === 'true', // the CI authorization server is http://127.0.0.1
    }),
  ],
  controllers: [AppController, OrdersController, HealthController],
  providers: [AppService],
})
export class AppModule {}
