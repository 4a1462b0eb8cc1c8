// Test-only entry (`@dirsync/kit/conformance`): imports vitest, so the kit's main entry never
// imports this folder.
export * from './harness.js';
export * from './suite.js';
