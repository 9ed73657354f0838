import tseslint from 'typescript-eslint';

const impureInCore = {
  paths: [
    { name: 'fs', message: 'The Raft core does no I/O: the host persists what Ready returns.' },
    { name: 'node:fs', message: 'The Raft core does no I/O: the host persists what Ready returns.' },
    { name: 'fs/promises', message: 'The Raft core does no I/O.' },
    { name: 'node:fs/promises', message: 'The Raft core does no I/O.' },
    { name: 'net', message: 'The Raft core does no I/O: the host sends what Ready returns.' },
    { name: 'node:net', message: 'The Raft core does no I/O: the host sends what Ready returns.' },
    { name: 'timers', message: 'Time enters the core only as tick().' },
    { name: 'node:timers', message: 'Time enters the core only as tick().' },
  ],
  patterns: [{ group: ['@nestjs/*'], message: 'The Raft core is plain TypeScript; Nest hosts it.' }],
};

const noClockOrTimers = [
  { name: 'setTimeout', message: 'Time enters the core only as tick().' },
  { name: 'setInterval', message: 'Time enters the core only as tick().' },
  { name: 'setImmediate', message: 'Time enters the core only as tick().' },
];

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'node_modules/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/consensus/core/**/*.ts', 'src/kv/kv-state-machine.ts', 'src/sessions/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', impureInCore],
      'no-restricted-globals': ['error', ...noClockOrTimers],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'The core has no clock: the leader stamps time into entries.' },
        { object: 'Math', property: 'random', message: 'Randomness is an injected, seeded PRNG.' },
      ],
    },
  },
);
