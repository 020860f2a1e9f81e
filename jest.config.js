/** Jest runs TypeScript through SWC; type checking is `npm run typecheck` (part of `npm test`). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/runtime', '<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }] },
  testTimeout: 30000,
  maxWorkers: 2,
};
