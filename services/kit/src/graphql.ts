// GraphQL-only helpers, kept off the main entry so connectors do not load type-graphql.
export * from './federation.js';
export * from './graphql-errors.js';
export * from './guard.js';
