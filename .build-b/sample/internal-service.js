var __decorate = (this && this.__decorate) || function (decorators, target, key, desc) {
    var c = arguments.length, r = c < 3 ? target : desc === null ? desc = Object.getOwnPropertyDescriptor(target, key) : desc, d;
    if (typeof Reflect === "object" && typeof Reflect.decorate === "function") r = Reflect.decorate(decorators, target, key, desc);
    else for (var i = decorators.length - 1; i >= 0; i--) if (d = decorators[i]) r = (c < 3 ? d(r) : c > 3 ? d(target, key, r) : d(target, key)) || r;
    return c > 3 && r && Object.defineProperty(target, key, r), r;
};
var __metadata = (this && this.__metadata) || function (k, v) {
    if (typeof Reflect === "object" && typeof Reflect.metadata === "function") return Reflect.metadata(k, v);
};
var __param = (this && this.__param) || function (paramIndex, decorator) {
    return function (target, key) { decorator(target, key, paramIndex); }
};
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { Introspected, IntrospectionModule, Scopes } from 'nestjs-token-introspection';
/** The phantom tokens' `iss` and `aud` in the sample: the orders API (edge) and the internal stock service. */
export const SAMPLE_EDGE_ISSUER = 'urn:sample:orders-api';
export const SAMPLE_STOCK_AUDIENCE = 'urn:sample:stock';
export const PHANTOM_JWKS_PATH = '.well-known/phantom-jwks.json';
/** An internal service: it sees only phantom tokens from the orders API and validates them locally. */
let StockController = class StockController {
    stock(token) {
        return { stock: { coffee: 12, tea: 7 }, seenBy: 'stock service', iss: token.iss, sub: token.sub, client: token.client_id };
    }
};
__decorate([
    Get(),
    Scopes('read'),
    __param(0, Introspected()),
    __metadata("design:type", Function),
    __metadata("design:paramtypes", [Object]),
    __metadata("design:returntype", void 0)
], StockController.prototype, "stock", null);
StockController = __decorate([
    Controller('stock')
], StockController);
/**
 * Starts the internal stock service (third party of the phantom-token flow): the same module in
 * local-JWT mode, pointed at the orders API's JWKS — it never calls the authorization server.
 */
export async function startInternalService(edgeUrl, port = 0) {
    let StockModule = class StockModule {
    };
    StockModule = __decorate([
        Module({
            imports: [
                IntrospectionModule.forRoot({
                    // Only used for opaque tokens, which this service does not expect.
                    issuer: process.env.AUTH_ISSUER,
                    clientId: process.env.AUTH_CLIENT_ID ?? 'stock',
                    clientSecret: process.env.AUTH_CLIENT_SECRET,
                    allowInsecureRequests: process.env.AUTH_ALLOW_INSECURE === 'true' || edgeUrl.startsWith('http://127.0.0.1'),
                    audience: SAMPLE_STOCK_AUDIENCE,
                    jwt: { mode: 'local', jwksUri: `${edgeUrl}/${PHANTOM_JWKS_PATH}`, issuer: SAMPLE_EDGE_ISSUER, algorithms: ['ES256'] },
                    // This demo runs it in the orders API's process: two modules on one global meter would report
                    // each other's gauges (the breaker state read 0 while the API's breaker was open). A real internal
                    // service is its own process with its own metrics.
                    metrics: false,
                }),
            ],
            controllers: [StockController],
        })
    ], StockModule);
    const app = await NestFactory.create(StockModule, new ExpressAdapter(), { logger: ['error', 'warn'] });
    await app.listen(port, '127.0.0.1');
    return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
}
