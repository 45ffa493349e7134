// Lint rules follow sdk-typescript's own: floating promises are bugs, type-only imports stay
// type-only (workflows must not pull activity code into the sandbox), and workflow files may not
// touch Node builtins (they run in Temporal's deterministic sandbox).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['.scratch/**', 'dist/**', 'node_modules/**', '.tools/**', '.lab/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*', 'fs', 'path', 'child_process', 'os', 'crypto'], message: 'Workflows run in a deterministic sandbox: use activities for side effects.' },
          { group: ['execa', '@temporalio/activity', '@temporalio/client', '@temporalio/worker', '../activities/*', '!../activities/types*'], message: 'Workflows may only import activity types (import type).', allowTypeImports: true },
        ],
      }],
    },
  },
  { files: ['**/*.mjs'], ...tseslint.configs.disableTypeChecked },
);
