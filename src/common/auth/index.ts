export { AdminOnly, ApiAuth, BEARER_SCHEME, Public, ReadAccess, X_AUTH_TOKEN_SCHEME } from './auth.decorators';
export type { Access } from './auth.decorators';
export { AuthModule } from './auth.module';
export { AuthTokens } from './auth-tokens';
export type { AuthRole } from './auth-tokens';
export { callerKey } from './caller-key';
