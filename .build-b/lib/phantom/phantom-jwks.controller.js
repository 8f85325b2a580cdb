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
import { Controller, Get, Header, Inject, NotFoundException } from '@nestjs/common';
import { Public } from '../decorators/public.decorator.js';
import { PhantomTokenService } from './phantom-token.service.js';
/**
 * Builds the controller publishing the phantom-token keys at `GET <path>` (a JWK Set, public, no
 * token needed): what internal services set as `jwt.jwksUri`. The module extra `phantomJwksPath`.
 */
export function createPhantomJwksController(path) {
    let PhantomJwksController = class PhantomJwksController {
        constructor(phantom) {
            this.phantom = phantom;
        }
        jwks() {
            const set = this.phantom.jwks();
            if (set.keys.length === 0)
                throw new NotFoundException('Phantom tokens are off.');
            return set;
        }
    };
    __decorate([
        Get(path)
        // Short: downstream services pick up a rotation on an unknown `kid` anyway.
        ,
        Header('cache-control', 'public, max-age=60'),
        __metadata("design:type", Function),
        __metadata("design:paramtypes", []),
        __metadata("design:returntype", void 0)
    ], PhantomJwksController.prototype, "jwks", null);
    PhantomJwksController = __decorate([
        Controller(),
        Public(),
        __param(0, Inject(PhantomTokenService)),
        __metadata("design:paramtypes", [PhantomTokenService])
    ], PhantomJwksController);
    return PhantomJwksController;
}
