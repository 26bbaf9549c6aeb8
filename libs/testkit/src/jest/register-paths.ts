// Jest applies moduleNameMapper to test files, not to the global setup and teardown: this
// resolves the workspace's path aliases (@tandem/*) for them. Import it first.
import { join } from 'node:path';
import { register } from 'tsconfig-paths';

const root = join(__dirname, '../../../..');
register({ baseUrl: root, paths: require(join(root, 'tsconfig.base.json')).compilerOptions.paths });
