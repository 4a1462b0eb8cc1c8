export * from './errors.js';
export * from './env.js';
export * from './logger.js';
export * from './nats.js';
export * from './http.js';
export * from './lifecycle.js';
export * from './phone.js';
export * from './sources/ldap.js';
