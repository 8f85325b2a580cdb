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
import { Inject, Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import { PUBLIC_KEY, RESOLVED_OPTIONS } from '../introspection.constants.js';
import { TokenGuard } from './token.guard.js';
/** `@MessagePattern()` / `@EventPattern()` metadata (`@nestjs/microservices`' PATTERN_METADATA), read without loading the package. */
const PATTERN_METADATA = 'microservices:pattern';
/** `@UseGuards()` metadata (`@nestjs/common`'s GUARDS_METADATA). */
const GUARDS_METADATA = '__guards__';
/**
 * Start-up audit of microservice message handlers in hybrid applications (an HTTP app with `connectMicroservice()`).
 * The global guard (`APP_GUARD`) reaches a connected microservice only when it is connected with
 * `{ inheritAppConfig: true }`; otherwise every `@MessagePattern()` / `@EventPattern()` handler runs without any token,
 * whatever its decorators say. Nest does not let a module see how its microservices were connected, so handlers that
 * are neither `@Public()` nor under `@UseGuards(TokenGuard)` are named in a warning at start-up. Internal.
 */
let MessageHandlerAudit = class MessageHandlerAudit {
    constructor(options, modules, adapterHost) {
        this.options = options;
        this.modules = modules;
        this.adapterHost = adapterHost;
    }
    onApplicationBootstrap() {
        // `globalGuard: false`: `@UseGuards(TokenGuard)` is the only enforcement anywhere, by the user's choice.
        // No HTTP adapter: a standalone microservice, which the global guard reaches.
        if (!this.options.globalGuard || !this.adapterHost?.httpAdapter)
            return;
        const exposed = unguardedMessageHandlers(this.modules);
        if (exposed.length === 0)
            return;
        new Logger('IntrospectionModule').warn(`UNGUARDED UNLESS CONNECTED WITH inheritAppConfig: message handlers ${exposed.join(', ')} are not @Public(), but in a hybrid ` +
            "application the global TokenGuard reaches a microservice only when it is connected with `app.connectMicroservice(options, " +
            '{ inheritAppConfig: true })`; with Nest\'s default they run for any message, without a token. Fix: connect with ' +
            "`{ inheritAppConfig: true }`, or put `@UseGuards(TokenGuard)` on these controllers (either way works; the latter also " +
            'silences this warning).');
    }
};
MessageHandlerAudit = __decorate([
    Injectable(),
    __param(0, Inject(RESOLVED_OPTIONS)),
    __metadata("design:paramtypes", [Object, ModulesContainer,
        HttpAdapterHost])
], MessageHandlerAudit);
export { MessageHandlerAudit };
/** `Class.method (pattern)` of every message handler that is neither `@Public()` nor under `@UseGuards(TokenGuard)`. */
export function unguardedMessageHandlers(modules) {
    const found = [];
    const scanned = new Set();
    for (const module of modules.values()) {
        for (const wrapper of module.controllers.values()) {
            const type = wrapper.metatype;
            if (typeof type !== 'function' || !type.prototype || scanned.has(type))
                continue;
            scanned.add(type);
            const classPublic = Reflect.getMetadata(PUBLIC_KEY, type) === true;
            const classGuarded = guardedByTokenGuard(Reflect.getMetadata(GUARDS_METADATA, type));
            for (const [name, method] of methods(type.prototype)) {
                const patterns = Reflect.getMetadata(PATTERN_METADATA, method);
                if (patterns === undefined)
                    continue;
                if (classPublic || classGuarded || Reflect.getMetadata(PUBLIC_KEY, method) === true)
                    continue;
                if (guardedByTokenGuard(Reflect.getMetadata(GUARDS_METADATA, method)))
                    continue;
                found.push(`${type.name}.${name} (${describePatterns(patterns)})`);
            }
        }
    }
    return found;
}
function guardedByTokenGuard(guards) {
    if (!Array.isArray(guards))
        return false;
    return guards.some((guard) => guard instanceof TokenGuard || (typeof guard === 'function' && (guard === TokenGuard || guard.prototype instanceof TokenGuard)));
}
function describePatterns(patterns) {
    const list = Array.isArray(patterns) ? patterns : [patterns];
    return list.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(', ');
}
/** Methods of a prototype and of the classes it extends (the nearest definition of each name; getters are not called). */
function methods(prototype) {
    const found = new Map();
    for (let p = prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
        for (const name of Object.getOwnPropertyNames(p)) {
            const value = Object.getOwnPropertyDescriptor(p, name)?.value;
            if (name !== 'constructor' && !found.has(name) && typeof value === 'function')
                found.set(name, value);
        }
    }
    return found;
}
