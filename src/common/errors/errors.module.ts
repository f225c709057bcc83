import { BadRequestException, Module, ValidationError, ValidationPipe } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { DomainErrorFilter } from './domain-error.filter';

/**
 * Global request validation and error mapping, registered as providers so that any app built
 * from AppModule (tests included) gets them.
 */
@Module({
  providers: [
    {
      provide: APP_PIPE,
      useValue: new ValidationPipe({
        transform: true,
        whitelist: true,
        exceptionFactory: (errors) =>
          new BadRequestException({ statusCode: 400, message: validationMessages(errors).join('; '), error: 'Bad Request' }),
      }),
    },
    { provide: APP_FILTER, useClass: DomainErrorFilter },
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
