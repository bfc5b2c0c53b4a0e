// Rewrites the committed CRD from the zod schemas: node scripts/gen-crd.ts
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CRD_FILE, crdYaml } from '../src/api/v1alpha1/crd.ts';

const path = fileURLToPath(new URL(`../${CRD_FILE}`, import.meta.url));
writeFileSync(path, crdYaml());
console.log(`wrote ${CRD_FILE}`);
