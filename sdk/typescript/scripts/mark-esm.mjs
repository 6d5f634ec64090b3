// The package root is CommonJS; this marker makes Node load the ESM build
// under dist/esm as ES modules.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

writeFileSync(join(process.argv[2], 'package.json'), '{ "type": "module" }\n');
