import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

// The generated bootstrap, without the instrumentation newer @nestjs/cli 12 templates wire in (@nestjs/observe,
// a hosted service this closed network cannot reach): this app's module replaces the generated one.
async function bootstrap() {
  const app = await NestFactory.create(AppModule);
  await app.listen(process.env.PORT ?? 3000);
}
await bootstrap();
