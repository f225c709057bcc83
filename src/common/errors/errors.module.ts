import { ArgumentMetadata, BadRequestException, Module, OnApplicationBootstrap, ValidationError, ValidationPipe } from '@nestjs/common';
import { APP_FILTER, APP_PIPE, HttpAdapterHost } from '@nestjs/core';
import { jsonDepth } from '../http/query';
import { ErrorAnswerFilter, expressErrorHandler } from './error-answer.filter';

/**
 * The global ValidationPipe, except that route parameters keep their text: each is parsed by its own
 * pipe (IdPipe), strictly, rather than by Number() (which takes `0x1` or `1e0` for 1).
 */
class AppValidationPipe extends ValidationPipe {
  protected override transformPrimitive(value: unknown, metadata: ArgumentMetadata): unknown {
    return metadata.type === 'param' ? value : super.transformPrimitive(value, metadata);
  }

  // class-transformer and class-validator recurse: a body nested thousands deep would overflow the
  // stack (a 500). No DTO of this API nests beyond a few levels.
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const dto = metadata.metatype && metadata.metatype !== Object;
    if (metadata.type === 'body' && dto && jsonDepth(value, MAX_DTO_DEPTH) > MAX_DTO_DEPTH) {
      throw new BadRequestException({
        statusCode: 400,
        message: `the body is nested deeper than ${MAX_DTO_DEPTH} levels`,
        error: 'Bad Request',
      });
    }
    return super.transform(value, metadata);
  }
}

const MAX_DTO_DEPTH = 32;

/**
 * Global request validation and error answers, registered as providers so that any app built from
 * AppModule (tests included) gets them: one filter for every error (error-answer.filter.ts) and, once Nest's
 * routes and error layer are in place, the same answers as Express's last error handler. (The query rule of
 * every route, query-parameters.ts, is applied by RequestBodyModule's interceptor, the one global interceptor.)
 */
@Module({
  providers: [
    {
      provide: APP_PIPE,
      useValue: new AppValidationPipe({
        transform: true,
        whitelist: true,
        exceptionFactory: (errors) =>
          // Two constraints may say the same (a nested value that is not an object): said once.
          new BadRequestException({ statusCode: 400, message: [...new Set(validationMessages(errors))].join('; '), error: 'Bad Request' }),
      }),
    },
    { provide: APP_FILTER, useClass: ErrorAnswerFilter },
  ],
})
export class ErrorsModule implements OnApplicationBootstrap {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  // Called by app.init() after Nest registered its routes, its 404 handler and its error layer: an Express
  // error handler only sees errors of the layers before it, so this one is the last.
  onApplicationBootstrap(): void {
    const adapter = this.adapterHost.httpAdapter;
    if (adapter?.getType() === 'express') adapter.use(expressErrorHandler);
  }
}

/** One readable line per failed constraint, nested properties included. */
export function validationMessages(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((e) => [
    ...Object.values(e.constraints ?? {}).map((m) => (prefix ? `${prefix}.${m}` : m)),
    ...validationMessages(e.children ?? [], prefix ? `${prefix}.${e.property}` : e.property),
  ]);
}
