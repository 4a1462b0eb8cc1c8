// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'proto/src/gen/**', '.data/**', '**/.turbo/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { languageOptions: { globals: { ...globals.node } } },
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'off',
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read configuration in the service env.ts only.',
        },
      ],
    },
  },
  {
    files: [
      '**/env.ts',
      '**/test/**',
      '**/*.test.ts',
      'infra/**',
      '**/vitest.config.ts',
      '**/vite.config.ts',
      '**/scripts/**',
    ],
    rules: { 'no-restricted-properties': 'off' },
  },
);
