import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { RequestBodyInterceptor } from './request-body';

/**
 * Request bodies, read after authentication, then the query rule (request-body.ts, query-parameters.ts).
 * Imported once, by AppModule; bootstrap.ts turns Express's body parsers off (they would read every body
 * before the guards).
 */
@Module({ providers: [{ provide: APP_INTERCEPTOR, useClass: RequestBodyInterceptor }] })
export class RequestBodyModule {}
