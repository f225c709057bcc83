import type { AuthRole, AuthTokens } from './auth-tokens';

/**
 * Keystone v2.0's token route, as much of it as fuel2 needs to log in.
 *
 * fuel2 (python-fuelclient 10.0.0) asks GET /api/v1/version whether auth is required; when it is, its
 * keystoneclient (v2.0 Client) posts the credentials to http://SERVER_ADDRESS:SERVER_PORT/keystone/v2.0/tokens
 * (the path is fixed in fuelclient/client.py; no discovery request, never v3), then posts again with
 * the token it got (`{"auth": {"token": {"id"}}}`), then sends `X-Auth-Token: <access.token.id>` on
 * every API call.
 *
 * There are no Keystone users here: the password (OS_PASSWORD) is one of the API tokens, and the token
 * id handed back is that same API token. Only digests of the tokens are kept, so a token of our own
 * would need either server-side sessions or a signing key, and would outlive neither a restart nor a
 * change of the configured tokens any better; the client already holds the API token (it sent it), so
 * handing it back tells it nothing new. The user name (OS_USERNAME) and the tenant (OS_TENANT_NAME) are
 * free text, only echoed in the answer and logged. The expiry is informational (the API token does not
 * expire): keystoneclient logs in again once it is near.
 */
export const KEYSTONE_TOKENS_PATH = 'keystone/v2.0/tokens';

/** What the token document says of the token's lifetime (informational, see above). */
export const KEYSTONE_TOKEN_LIFETIME_S = 24 * 3600;

/** A login body is about a hundred bytes (a token is at most 4096 characters): anyone may send one, so it is read only this far. */
export const KEYSTONE_BODY_MAX_BYTES = 16 * 1024;

/**
 * Requests under /keystone/ come from OpenStack clients, which read an error's message only from
 * `{"error": {"message", "code", "title"}}` (keystoneauth1's from_response): their errors carry it too.
 */
export const isKeystonePath = (path: string): boolean => /^\/keystone(\/|$)/.test(path);

/** What a login presents: a password (with a user name) or a token from an earlier login. */
export type KeystoneCredentials = { kind: 'password'; user: string; secret: string } | { kind: 'token'; secret: string };

/**
 * The role a login gets, or undefined when it is refused. With no token configured the API is open:
 * any secret logs in as admin (the API then ignores the token it is sent).
 */
export function keystoneRole(tokens: AuthTokens, secret: string): AuthRole | undefined {
  return tokens.required ? tokens.match(secret) : 'admin';
}

/** The `access` document of Keystone v2.0, with what keystoneclient's AccessInfoV2 and process_token read. */
export function keystoneAccess(o: { token: string; role: AuthRole; user: string; tenant?: string; now: Date }) {
  const expires = new Date(o.now.getTime() + KEYSTONE_TOKEN_LIFETIME_S * 1000);
  return {
    access: {
      token: {
        id: o.token,
        issued_at: o.now.toISOString(),
        expires: expires.toISOString(),
        // A scoped token must name its tenant's id (keystoneclient refuses one without); the client sends
        // that id back as tenantId when it logs in again with the token.
        ...(o.tenant === undefined ? {} : { tenant: { id: o.tenant, name: o.tenant, enabled: true, description: null } }),
      },
      // Nothing is looked up in it: fuel2 knows where the API is.
      serviceCatalog: [] as unknown[],
      user: { id: o.user, name: o.user, username: o.user, roles: [{ name: o.role }], roles_links: [] as unknown[] },
      metadata: { is_admin: o.role === 'admin' ? 1 : 0, roles: [o.role] },
    },
  };
}
