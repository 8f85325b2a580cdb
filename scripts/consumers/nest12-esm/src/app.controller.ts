import { Controller, Get } from '@nestjs/common';
import { Public } from 'nestjs-token-introspection';
import { AppService } from './app.service.js';

// The generated controller; the only change: its route stays public under the global TokenGuard.
@Controller()
export class AppController {
  constructor(private readonly appService: AppService) {}

  @Public()
  @Get()
  getHello(): string {
    return this.appService.getHello();
  }
}
