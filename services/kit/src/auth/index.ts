// Authentication and authorisation shared by the gateway and the subgraphs (docs/security.md).
export * from './roles.js';
export * from './principal.js';
export * from './gateway-token.js';
export * from './subgraph-auth.js';
export * from './env.js';
