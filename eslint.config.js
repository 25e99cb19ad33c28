// ESLint flat config: typescript-eslint with type information (no floating promises, no unsafe any).
// Formatting is Prettier's job (see .prettierrc.json); eslint-config-prettier is not needed because
// no stylistic rule is enabled here.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/**', 'node_modules/**', 'coverage/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // off: Fastify hooks, handlers and plugins are async by contract (their promise tells Fastify they are done)
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // off in tests only: they read answers with light-my-request's json() (typed any) and check them with expect()
      '@typescript-eslint/no-unsafe-member-access': 'off',
      // off in tests only: same reason (a parsed body assigned, passed to expect or returned from a helper)
      '@typescript-eslint/no-unsafe-assignment': 'off',
      // off in tests only: same reason
      '@typescript-eslint/no-unsafe-argument': 'off',
      // off in tests only: same reason
      '@typescript-eslint/no-unsafe-call': 'off',
      // off in tests only: same reason
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // the console's browser code (bundled by esbuild) and its build script (node)
    files: ['src/console/ui/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
);
