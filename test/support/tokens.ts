/** The tokens of a test app with authentication on, and the environment that configures them (startApp's `env`). */
export const READ = 'read-0123456789abcdef';
export const ADMIN = 'admin-0123456789abcdef0123456789';
export const TOKENS_ENV = { AUTH_READ_TOKENS: READ, AUTH_ADMIN_TOKENS: ADMIN };
