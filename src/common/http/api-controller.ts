import { applyDecorators, Controller, Type } from '@nestjs/common';
import { ApiBadRequestResponse, ApiHeader, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import { ApiAuth } from '../auth';
import { ErrorDto } from '../errors/error.dto';

/**
 * A controller of the token-protected API: its route prefix, its Swagger tag, the token it takes
 * (`ApiAuth`), and its 400 answer, which says whether a body can be the culprit (`body: false` for a
 * controller whose routes take none).
 */
export const ApiController = (tag: string, path?: string, { body = true }: { body?: boolean } = {}) =>
  applyDecorators(
    path === undefined ? Controller() : Controller(path),
    ApiAuth(),
    ApiTags(tag),
    ApiBadRequestResponse({
      type: ErrorDto,
      description: body
        ? 'A parameter or the body is invalid: the message says which and why'
        : 'A parameter is invalid: the message says which and why',
    }),
  );

/**
 * A list route answered by `listResponse` (list-response.ts): JSON rows of `type`, or CSV with
 * `Accept: text/csv`, and a `Link: rel="next"` header while more rows exist (`link` says when).
 */
export const ApiListResponse = (type: Type<unknown>, link = 'rel="next": the next page, while more rows exist') =>
  applyDecorators(
    ApiProduces('application/json', 'text/csv'),
    ApiOkResponse({ type: [type] }),
    ApiHeader({ name: 'Link', required: false, description: link }),
  );
