// Test utilities shared by the packages' tests; not used by the apps at run time.
export * from './memory-logger.js';
