import {
  BadRequestException,
  Body,
  Controller,
  HttpCode,
  HttpStatus,
  Inject,
  Logger,
  Post,
  Req,
  Res,
  UnauthorizedException,
} from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiPayloadTooLargeResponse, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { SmallBody } from '../http/request-body';
import { LogThrottle } from '../logging/log-throttle';
import { terminalText } from '../terminal-text';
import { Public } from './auth.decorators';
import { KEYSTONE_BODY_MAX_BYTES, KEYSTONE_TOKENS_PATH, KeystoneCredentials, keystoneAccess, keystoneRole } from './keystone';
import { KeystoneAccessResponseDto, KeystoneErrorDto, KeystoneTokensRequestDto } from './keystone.dto';

const REALM = 'Keystone realm="deployment-history"';

/**
 * Keystone v2.0's `POST /tokens`, for fuel2 (see keystone.ts). Public: the credentials are in the body.
 * Served at /keystone/v2.0/tokens, outside the API's prefix (bootstrap.ts), where fuel2 looks for it.
 */
@ApiTags('keystone')
@Controller(KEYSTONE_TOKENS_PATH)
@Public()
export class KeystoneController {
  private readonly logger = new Logger('Auth');
  // A guesser sends many: one line per address and interval, with a count.
  private readonly refusals = new LogThrottle(this.logger);

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /**
   * Logs in as Keystone v2.0 does, for fuel2 and other Keystone clients: the password (or the token of an
   * earlier login) is one of the service's API tokens; the answer's `access.token.id` is that token, to
   * send as `X-Auth-Token`; `access.user.roles` says `read` or `admin`. A password that is not a configured
   * token: 401. With no token configured (the API open), any password logs in as admin.
   */
  @Post()
  @HttpCode(HttpStatus.OK)
  @SmallBody(KEYSTONE_BODY_MAX_BYTES)
  @ApiOkResponse({ type: KeystoneAccessResponseDto })
  @ApiBadRequestResponse({ type: KeystoneErrorDto, description: 'The body is not a Keystone v2.0 login: the message says what is missing' })
  @ApiUnauthorizedResponse({ type: KeystoneErrorDto, description: 'The password (or token) is not a configured read or admin token' })
  @ApiPayloadTooLargeResponse({ type: KeystoneErrorDto, description: 'The body is larger than 16 KB' })
  login(@Body() body: KeystoneTokensRequestDto, @Req() req: Request, @Res({ passthrough: true }) res: Response): KeystoneAccessResponseDto {
    const credentials = credentialsOf(body);
    const tenant = tenantOf(body);
    const from = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const who = credentials.kind === 'password' ? `user ${terminalText(JSON.stringify(credentials.user))}` : 'a login with a token';
    const role = keystoneRole(this.config.auth, credentials.secret);
    if (!role) {
      const what = credentials.kind === 'password' ? 'the password' : 'the token';
      const refused = `${what} is not a configured read or admin token`;
      this.refusals.warn(`keystone:${from}`, `Keystone login refused: ${who} from ${from}: ${refused}`);
      res.setHeader('WWW-Authenticate', REALM);
      const message =
        credentials.kind === 'password'
          ? 'The password is not a configured read or admin token of this service: ' +
            'give fuel2 one of its API tokens as its password (OS_PASSWORD)'
          : 'The token is not a configured read or admin token of this service: log in again with one of its API tokens as the password';
      throw new UnauthorizedException({ statusCode: 401, message });
    }
    this.logger.debug(`Keystone login: ${who} from ${from} with ${role === 'admin' ? 'an admin' : 'a read'} token`);
    // A login with a token names no user: it is named after its role.
    const user = credentials.kind === 'password' ? credentials.user : role;
    return keystoneAccess({ token: credentials.secret, role, user, tenant, now: new Date() });
  }
}

function credentialsOf({ auth }: KeystoneTokensRequestDto): KeystoneCredentials {
  const { passwordCredentials: password, token } = auth;
  if (password && token) throw badRequest('auth: give passwordCredentials or token, not both');
  if (token) return { kind: 'token', secret: token.id };
  if (!password) throw badRequest('auth: expecting passwordCredentials or token (Keystone v2.0)');
  const user = password.username ?? password.userId;
  if (user === undefined) throw badRequest('auth.passwordCredentials: expecting username or userId');
  return { kind: 'password', user, secret: password.password };
}

function tenantOf({ auth }: KeystoneTokensRequestDto): string | undefined {
  if (auth.tenantName !== undefined && auth.tenantId !== undefined) throw badRequest('auth: give tenantName or tenantId, not both');
  return auth.tenantId ?? auth.tenantName;
}

const badRequest = (message: string) => new BadRequestException({ statusCode: 400, message });
