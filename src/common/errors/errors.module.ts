import { ArgumentMetadata, BadRequestException, Module, ValidationError, ValidationPipe } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { jsonDepth } from '../http/query';
import { DataErrorFilter, DomainErrorFilter } from './domain-error.filter';

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
      throw new BadRequestException({ statusCode: 400, message: `the body is nested deeper than ${MAX_DTO_DEPTH} levels`, error: 'Bad Request' });
    }
    return super.transform(value, metadata);
  }
}

const MAX_DTO_DEPTH = 32;

/**
 * Global request validation and error mapping, registered as providers so that any app built
 * from AppModule (tests included) gets them.
 */
@Module({
  providers: [
    {
      provide: APP_PIPE,
      useValue: new AppValidationPipe({
        transform: true,
        whitelist: true,
        exceptionFactory: (errors) =>
          new BadRequestException({ statusCode: 400, message: validationMessages(errors).join('; '), error: 'Bad Request' }),
      }),
    },
    { provide: APP_FILTER, useClass: DomainErrorFilter },
    { provide: APP_FILTER, useClass: DataErrorFilter },
  ],
})
export class ErrorsModule {}

/** One readable line per failed constraint, nested properties included. */
export function validationMessages(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((e) => [
    ...Object.values(e.constraints ?? {}).map((m) => (prefix ? `${prefix}.${m}` : m)),
    ...validationMessages(e.children ?? [], prefix ? `${prefix}.${e.property}` : e.property),
  ]);
}
