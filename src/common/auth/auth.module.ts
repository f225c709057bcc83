import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthGuard } from './auth.guard';
import { KeystoneController } from './keystone.controller';

/**
 * Token authentication of the HTTP API (tokens from AppConfig.auth, see auth-tokens.ts). Imported once,
 * by AppModule; routes state their needs with the decorators of auth.decorators.ts. Keystone clients (fuel2)
 * log in at /keystone/v2.0/tokens (keystone.ts).
 */
@Module({ controllers: [KeystoneController], providers: [{ provide: APP_GUARD, useClass: AuthGuard }] })
export class AuthModule {}
