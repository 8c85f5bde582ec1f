import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Workflow and model code must stay deterministic and free of I/O: Node built-ins and I/O
// libraries are forbidden there (as in the Temporal samples' lint config).
const nodeBuiltins = ['fs', 'path', 'os', 'http', 'https', 'net', 'crypto', 'child_process', 'dns', 'tls', 'stream', 'worker_threads', 'timers'];
const ioPackages = ['pg', 'jsforce', '@hubspot/api-client', 'fastify', '@temporalio/client', '@temporalio/worker', '@temporalio/activity'];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.cache/', '.data/', '.reports/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      // Activities and interface implementations are async by contract even when a body is not.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/workflows/**/*.ts', 'src/model/**/*.ts', 'test/**/*.workflow.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ioPackages.map((name) => ({ name, message: 'Workflow and model code is deterministic: do I/O in an activity.' })),
          patterns: [
            {
              group: nodeBuiltins.flatMap((name) => [name, `node:${name}`, `${name}/*`]),
              message: 'Workflow and model code is deterministic: no Node built-ins.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use a workflow timer loop.' },
        { name: 'fetch', message: 'Do I/O in an activity.' },
        { name: 'process', message: 'Workflow code must not read the environment.' },
      ],
    },
  },
  {
    files: ['eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
