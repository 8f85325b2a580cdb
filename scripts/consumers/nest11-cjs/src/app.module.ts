import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { IntrospectionModule } from 'nestjs-token-introspection';
import { AppController } from './app.controller';
import { AppService } from './app.service';
import { HealthController } from './health.controller';
import { OrdersController } from './orders.controller';

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
