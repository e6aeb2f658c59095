import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'lib/', 'knative/imports/', '.hks/', 'test/cluster/go/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // The SDK shares the API's and the definitions' types, never their code.
    files: ['sdk/typescript/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/api', '**/api/**', '**/constructs', '**/constructs/**'],
              allowTypeImports: true,
              message: 'The SDK takes only types from api/ and constructs/: use import type.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { module: 'writable', require: 'readonly' },
    },
  },
  {
    // The web console: ES modules run by the browser as they are (api/routes/console.ts).
    files: ['console/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: {
        addEventListener: 'readonly',
        atob: 'readonly',
        Blob: 'readonly',
        console: 'readonly',
        crypto: 'readonly',
        document: 'readonly',
        fetch: 'readonly',
        FormData: 'readonly',
        globalThis: 'readonly',
        Intl: 'readonly',
        location: 'readonly',
        removeEventListener: 'readonly',
        sessionStorage: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        TextDecoder: 'readonly',
        TextDecoderStream: 'readonly',
        URL: 'readonly',
        URLSearchParams: 'readonly',
        AbortController: 'readonly',
      },
    },
  },
  {
    // The function runtimes and function handlers run as plain Node.js programs.
    files: [
      'runtimes/node/**/*.js',
      'test/fixtures/functions/node/**/*.js',
      'apps/functions/**/*.js',
    ],
    languageOptions: {
      globals: {
        Buffer: 'readonly',
        clearTimeout: 'readonly',
        console: 'readonly',
        process: 'readonly',
        setTimeout: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
