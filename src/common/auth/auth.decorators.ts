import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiSecurity, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ErrorDto } from '../errors/error.dto';

/**
 * What a route needs: `public` (nothing), `read` (a read or admin token), `admin` (an admin token).
 * Routes without a mark need `read` when their method is GET or HEAD, and `admin` for any other
 * method: a new route is never open by accident, and a new write never takes a read token.
 */
export type Access = 'public' | 'read' | 'admin';
export const AUTH_ACCESS = 'deployment-history:auth-access';

/** Swagger security scheme names (declared in bootstrap.ts with DocumentBuilder). */
export const BEARER_SCHEME = 'bearer';
export const X_AUTH_TOKEN_SCHEME = 'x-auth-token';

/** No token needed, even when tokens are configured (version, health). Not in the Swagger security. */
export const Public = () => SetMetadata(AUTH_ACCESS, 'public' satisfies Access);

/** Needs a read or an admin token. The default for GET; mark only a non-GET route that only reads. */
export const ReadAccess = () => SetMetadata(AUTH_ACCESS, 'read' satisfies Access);

/** Changes data: needs an admin token; a read token gets 403. Put it on every write handler. */
export const AdminOnly = () =>
  applyDecorators(
    SetMetadata(AUTH_ACCESS, 'admin' satisfies Access),
    ApiForbiddenResponse({ type: ErrorDto, description: 'The token is a read token: this route changes data and needs an admin token' }),
  );

/**
 * Swagger: the routes of this controller take a token as `Authorization: Bearer <token>` or
 * `X-Auth-Token: <token>`, and answer 401 without a valid one (when tokens are configured).
 */
export const ApiAuth = () =>
  applyDecorators(
    ApiBearerAuth(BEARER_SCHEME),
    ApiSecurity(X_AUTH_TOKEN_SCHEME),
    ApiUnauthorizedResponse({
      type: ErrorDto,
      description: 'No token, or not a configured one (only when the service has tokens configured; see GET /api/v1/version auth_required)',
    }),
  );
