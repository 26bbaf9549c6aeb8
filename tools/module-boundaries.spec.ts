/**
 * The dependency rules of DESIGN.md section 2 are enforced, not just written down: ESLint's
 * @nx/enforce-module-boundaries must reject these imports.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..');
jest.setTimeout(120_000);

beforeAll(() => {
  // The rule reads Nx's cached project graph; computing it here makes the test self-contained.
  execFileSync('npx', ['nx', 'show', 'projects'], { cwd: root, env: { ...process.env, NX_DAEMON: 'false' }, stdio: 'ignore' });
});

/** Lints `code` as if it were `file`, with the repository's ESLint configuration (its CLI, as CI runs it). */
async function boundaryErrors(file: string, code: string): Promise<string[]> {
  const run = spawnSync(join(root, 'node_modules/.bin/eslint'), ['--format', 'json', '--stdin', '--stdin-filename', join(root, file)], {
    cwd: root,
    input: code,
    encoding: 'utf8',
  });
  const [result] = JSON.parse(run.stdout) as { messages: { ruleId: string; message: string }[] }[];
  return result.messages.filter((m) => m.ruleId === '@nx/enforce-module-boundaries').map((m) => m.message);
}

describe('module boundaries', () => {
  it('forbids kafkajs, pg and Nest in libs/transforms', async () => {
    const pkgs = ['kafkajs', 'pg', 'typeorm', '@nestjs/common'];
    const code = pkgs.map((p, i) => `import * as x${i} from '${p}';\nexport const y${i} = x${i};\n`).join('');
    const errors = await boundaryErrors('libs/transforms/src/probe.ts', code);
    for (const p of pkgs) expect(errors).toContain(`A project tagged with "type:domain" is not allowed to import "${p}"`);
  });

  it('forbids libs/transforms from importing an adapter library', async () => {
    const errors = await boundaryErrors('libs/transforms/src/probe.ts', `import { openDatabase } from '@tandem/platform';\nexport const y = openDatabase;\n`);
    // Either rule may fire first (platform already depends on transforms, so this is also a
    // cycle); what matters is that the import is rejected.
    expect(errors.join('\n')).toMatch(/can only depend on libs tagged with "type:contracts"|Circular dependency between "transforms" and "platform"/);
  });

  it('forbids one layer from importing another', async () => {
    const errors = await boundaryErrors('libs/speed/src/probe.ts', `import * as b from '@tandem/serving';\nexport const y = b;\n`);
    expect(errors.join('\n')).toMatch(/type:feature" can only depend on/);
  });

  it('forbids a library from importing an app', async () => {
    const errors = await boundaryErrors('libs/platform/src/probe.ts', `import * as m from '../../../apps/speed/src/main';\nexport const y = m;\n`);
    expect(errors.length).toBeGreaterThan(0);
  });

  it('allows what the rules allow', async () => {
    const errors = await boundaryErrors('libs/transforms/src/probe.ts', `import { httpRequests } from '@tandem/contracts';\nexport const y = httpRequests;\n`);
    expect(errors).toEqual([]);
  });
});
