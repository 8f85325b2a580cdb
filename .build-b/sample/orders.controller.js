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
import { Controller, Get, Post, ServiceUnavailableException } from '@nestjs/common';
import { AnyScope, Introspected, OutagePolicy, PhantomToken, Public, Scopes, } from 'nestjs-token-introspection';
/** What a user of the library writes: decorators on routes, nothing else. */
let OrdersController = class OrdersController {
    /** Anyone may call this: no token, no call to the authorization server. */
    index() {
        return { service: 'orders', docs: 'see README.md' };
    }
    /** Needs a token with scope `read`. */
    list(token) {
        return { orders: [{ id: 1, item: 'coffee' }], client: token.client_id, scopes: token.scopes };
    }
    /** Needs `read` and `write`. */
    create() {
        return { created: { id: 2 } };
    }
    /** Needs `admin` or `write` (either is enough). */
    reports() {
        return { revenue: 42 };
    }
    /** Keeps working during an outage for a token that was recently valid (flagged `stale`). */
    catalog(stale) {
        return { catalog: ['coffee', 'tea'], servedFromStaleCache: stale === true };
    }
    /**
     * Calls the internal stock service with a phantom token: a short-lived JWT minted from the caller's
     * token, which the stock service validates locally (no call to the authorization server).
     */
    async stock(phantom) {
        const internal = process.env.INTERNAL_URL;
        if (!internal)
            throw new ServiceUnavailableException('The internal stock service is not running (INTERNAL_URL is unset).');
        const res = await fetch(`${internal}/stock`, { headers: { authorization: `Bearer ${phantom}` } });
        return { fromInternalService: res.status === 200 ? await res.json() : { status: res.status } };
    }
};
__decorate([
    Public(),
    Get(),
    __metadata("design:type", Function),
    __metadata("design:paramtypes", []),
    __metadata("design:returntype", void 0)
], OrdersController.prototype, "index", null);
__decorate([
    Get('orders'),
    Scopes('read'),
    __param(0, Introspected()),
    __metadata("design:type", Function),
    __metadata("design:paramtypes", [Object]),
    __metadata("design:returntype", void 0)
], OrdersController.prototype, "list", null);
__decorate([
    Post('orders'),
    Scopes('read', 'write'),
    __metadata("design:type", Function),
    __metadata("design:paramtypes", []),
    __metadata("design:returntype", void 0)
], OrdersController.prototype, "create", null);
__decorate([
    Get('reports'),
    AnyScope('admin', 'write'),
    __metadata("design:type", Function),
    __metadata("design:paramtypes", []),
    __metadata("design:returntype", void 0)
], OrdersController.prototype, "reports", null);
__decorate([
    Get('catalog'),
    Scopes('read'),
    OutagePolicy('serve-stale'),
    __param(0, Introspected('stale')),
    __metadata("design:type", Function),
    __metadata("design:paramtypes", [Object]),
    __metadata("design:returntype", void 0)
], OrdersController.prototype, "catalog", null);
__decorate([
    Get('orders/stock'),
    Scopes('read'),
    __param(0, PhantomToken()),
    __metadata("design:type", Function),
    __metadata("design:paramtypes", [String]),
    __metadata("design:returntype", Promise)
], OrdersController.prototype, "stock", null);
OrdersController = __decorate([
    Controller()
], OrdersController);
export { OrdersController };
