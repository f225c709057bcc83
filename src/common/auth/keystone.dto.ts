import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsObject, IsOptional, IsString, Length, ValidateNested } from 'class-validator';
import { ErrorDto } from '../errors/error.dto';

/**
 * What is said of a nested value that is not an object: @IsObject refuses lists (which @ValidateNested
 * would take), @ValidateNested's own message names no property; the same message twice is said once.
 */
const OBJECT = '$property must be an object';
const LOGIN = 'auth must be an object: a Keystone v2.0 login is {"auth": {"passwordCredentials": {"username": ..., "password": ...}}}';

/** Keystone v2.0 `passwordCredentials`: fuel2 sends OS_USERNAME and OS_PASSWORD. */
export class KeystonePasswordCredentialsDto {
  /** Any name (only echoed and logged): there are no Keystone users here. */
  @IsOptional()
  @IsString()
  @Length(1, 255)
  username?: string;

  /** Accepted instead of `username`, as Keystone does. */
  @IsOptional()
  @IsString()
  @Length(1, 255)
  userId?: string;

  /** One of the service's API tokens (read or admin). */
  @IsString()
  password: string;
}

/** Keystone v2.0 `token`: a login with the token of an earlier one (keystoneclient logs in again this way). */
export class KeystoneTokenCredentialsDto {
  /** The token id of an earlier login: an API token. */
  @IsString()
  id: string;
}

export class KeystoneAuthDto {
  @IsOptional()
  @IsObject({ message: OBJECT })
  @ValidateNested({ message: OBJECT })
  @Type(() => KeystonePasswordCredentialsDto)
  passwordCredentials?: KeystonePasswordCredentialsDto;

  @IsOptional()
  @IsObject({ message: OBJECT })
  @ValidateNested({ message: OBJECT })
  @Type(() => KeystoneTokenCredentialsDto)
  token?: KeystoneTokenCredentialsDto;

  /** Any name (OS_TENANT_NAME): only echoed, as the token's tenant. */
  @IsOptional()
  @IsString()
  @Length(1, 255)
  tenantName?: string;

  /** The tenant id of an earlier answer (the same name). */
  @IsOptional()
  @IsString()
  @Length(1, 255)
  tenantId?: string;
}

/**
 * `POST /keystone/v2.0/tokens`: `{"auth": {"passwordCredentials": {"username", "password"}, "tenantName"}}`
 * or `{"auth": {"token": {"id"}, "tenantId"}}`.
 */
export class KeystoneTokensRequestDto {
  @IsObject({ message: LOGIN })
  @ValidateNested({ message: LOGIN })
  @Type(() => KeystoneAuthDto)
  auth: KeystoneAuthDto;
}

export class KeystoneTenantDto {
  /** The tenant asked for (tenantName or tenantId), as its id and its name. */
  id: string;
  name: string;
  enabled: boolean;
  /** Always null. */
  @ApiProperty({ type: String, nullable: true })
  description: null;
}

export class KeystoneTokenDto {
  /** The API token itself: send it as `X-Auth-Token` (or `Authorization: Bearer`). */
  id: string;
  issued_at: string;
  /** 24 hours after the login; informational (the API token does not expire), clients log in again before it. */
  expires: string;
  /** Only when a tenant was asked for. */
  tenant?: KeystoneTenantDto;
}

export class KeystoneRoleDto {
  /** `read` or `admin`: the role of the API token. */
  name: string;
}

export class KeystoneUserDto {
  /** The user name given (or, for a login with a token, the token's role). */
  id: string;
  name: string;
  username: string;
  roles: KeystoneRoleDto[];
  roles_links: unknown[];
}

export class KeystoneMetadataDto {
  is_admin: number;
  roles: string[];
}

export class KeystoneAccessDto {
  token: KeystoneTokenDto;
  /** Always empty: fuel2 knows where the API is. */
  serviceCatalog: unknown[];
  user: KeystoneUserDto;
  metadata: KeystoneMetadataDto;
}

/** Keystone v2.0's answer to a login. */
export class KeystoneAccessResponseDto {
  access: KeystoneAccessDto;
}

/** OpenStack's error object, which keystoneclient reads (its message is the service's message). */
export class KeystoneErrorDetailDto {
  message: string;
  code: number;
  /** The status text: `Unauthorized`, `Bad Request`... */
  title: string;
}

/** The error answer of a /keystone/ route: the service's one shape, plus OpenStack's `error` object. */
export class KeystoneErrorDto extends ErrorDto {
  error: KeystoneErrorDetailDto;
}
