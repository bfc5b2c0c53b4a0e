import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { load } from 'js-yaml';
import { CRD_FILE, crdYaml, openApiV3Schema, toStructural } from './crd.ts';
import { malformedSpecs } from './malformed-specs.ts';
import { InstanceEvacuationSpecSchema, isPositiveQuantity } from './types.ts';

type Schema = Record<string, unknown>;

/**
 * The OpenAPI keywords the API server checks before CEL (enough for this CRD): returns the first
 * problem as "<path>: <what>", like the API server's messages, or undefined.
 */
function openApiProblem(schema: Schema, value: unknown, path: string): string | undefined {
  const type = schema['type'];
  if (type === 'object') {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return `${path}: must be an object`;
    const obj = value as Record<string, unknown>;
    for (const r of (schema['required'] as string[] | undefined) ?? [])
      if (!(r in obj)) return `${path}.${r}: Required value`;
    const min = schema['minProperties'] as number | undefined;
    if (min !== undefined && Object.keys(obj).length < min) return `${path}: at least ${min} properties`;
    const props = (schema['properties'] as Record<string, Schema> | undefined) ?? {};
    for (const [k, v] of Object.entries(obj)) {
      const sub = props[k];
      if (sub === undefined) continue; // pruned
      const p = openApiProblem(sub, v, `${path}.${k}`);
      if (p !== undefined) return p;
    }
    return undefined;
  }
  if (type === 'string') {
    if (typeof value !== 'string') return `${path}: must be a string`;
    if (typeof schema['minLength'] === 'number' && value.length < schema['minLength'])
      return `${path}: too short`;
    if (typeof schema['maxLength'] === 'number' && value.length > schema['maxLength'])
      return `${path}: too long`;
    if (typeof schema['pattern'] === 'string' && !new RegExp(schema['pattern']).test(value))
      return `${path}: should match pattern`;
  }
  if (type === 'integer' && !Number.isInteger(value)) return `${path}: must be of type integer`;
  if (type === 'boolean' && typeof value !== 'boolean') return `${path}: must be of type boolean`;
  if (type === 'integer' || type === 'number') {
    const n = value as number;
    if (typeof schema['minimum'] === 'number' && n < schema['minimum'])
      return `${path}: should be >= minimum`;
    if (typeof schema['maximum'] === 'number' && n > schema['maximum'])
      return `${path}: should be <= maximum`;
  }
  if (Array.isArray(schema['enum']) && !schema['enum'].includes(value)) return `${path}: Unsupported value`;
  return undefined;
}

/** CEL messages of the rules on the schema node at `path` (e.g. "spec.flavor") and below. */
function celMessages(schema: Schema, path: string[]): string[] {
  const here = ((schema['x-kubernetes-validations'] as { message: string }[] | undefined) ?? []).map(
    (r) => r.message,
  );
  const props = (schema['properties'] as Record<string, Schema> | undefined) ?? {};
  return [...here, ...Object.values(props).flatMap((p) => celMessages(p, path))];
}

describe('InstanceEvacuation CRD', () => {
  context('when regenerated from the zod schemas', () => {
    it('should equal the committed file (run `node scripts/gen-crd.ts` after changing types.ts)', () => {
      const path = fileURLToPath(new URL(`../../../${CRD_FILE}`, import.meta.url));
      expect(readFileSync(path, 'utf8')).to.equal(crdYaml());
    });

    it('should parse back as one CustomResourceDefinition with a status subresource', () => {
      const crd = load(crdYaml()) as { kind: string; spec: { versions: { subresources: unknown }[] } };
      expect(crd.kind).to.equal('CustomResourceDefinition');
      expect(crd.spec.versions[0]!.subresources).to.deep.equal({ status: {} });
    });

    it('should give every schema node a type or x-kubernetes-preserve-unknown-fields', () => {
      const walk = (s: Schema, path: string): void => {
        expect(s['type'] !== undefined || s['x-kubernetes-preserve-unknown-fields'] === true, path).to.equal(
          true,
        );
        expect(s, path).to.not.have.any.keys('anyOf', 'oneOf', '$ref', 'const', 'propertyNames');
        if (s['additionalProperties'] === false) expect.fail(`${path}: additionalProperties false`);
        for (const [k, v] of Object.entries((s['properties'] as Record<string, Schema>) ?? {}))
          walk(v, `${path}.${k}`);
        if (s['items']) walk(s['items'] as Schema, `${path}[]`);
      };
      walk(openApiV3Schema(), '');
    });

    it('should keep the snapshot spec free-form and everything under spec pruned', () => {
      const root = openApiV3Schema() as { properties: Record<string, Schema> };
      const status = root.properties['status'] as { properties: Record<string, Schema> };
      const snapshot = status.properties['snapshot'] as { properties: Record<string, Schema> };
      expect(snapshot.properties['spec']).to.include({
        type: 'object',
        'x-kubernetes-preserve-unknown-fields': true,
      });
      expect(snapshot.properties['spec']).to.not.have.property('additionalProperties');
      expect(JSON.stringify(root.properties['spec'])).to.not.include('preserve-unknown');
    });

    it('should name a spec field in every CEL message', () => {
      const root = openApiV3Schema() as { properties: Record<string, Schema> };
      const messages = celMessages(root.properties['spec']!, ['spec']);
      expect(messages.length).to.be.greaterThan(5);
      for (const m of messages) expect(m).to.match(/^spec\.[a-zA-Z]/);
    });
  });

  context('toStructural', () => {
    it('should refuse unions, which are not structural', () => {
      expect(() => toStructural({ anyOf: [{ type: 'string' }, { type: 'integer' }] })).to.throw(/anyOf/);
    });
    it('should turn const into a one-value enum and drop date-time patterns', () => {
      expect(toStructural({ type: 'string', const: 'x' })).to.deep.equal({ type: 'string', enum: ['x'] });
      expect(toStructural({ type: 'string', format: 'date-time', pattern: '^x$' })).to.deep.equal({
        type: 'string',
        format: 'date-time',
      });
    });
    it('should refuse a node without a type', () => {
      expect(() => toStructural({ description: 'x' })).to.throw(/without type/);
    });
  });
});

describe('malformed specs', () => {
  it('should list at least ten distinct cases', () => {
    expect(malformedSpecs.length).to.be.at.least(10);
    expect(new Set(malformedSpecs.map((m) => JSON.stringify(m.spec))).size).to.equal(malformedSpecs.length);
  });

  for (const m of malformedSpecs) {
    context(m.name, () => {
      it(`should be rejected by the zod schema naming ${m.expectFieldInMessage}`, () => {
        const r = InstanceEvacuationSpecSchema.safeParse(m.spec);
        expect(r.success, 'zod accepted it').to.equal(false);
        const named = r.error!.issues.some(
          (i) =>
            `spec.${i.path.join('.')}`.startsWith(m.expectFieldInMessage) ||
            i.message.includes(m.expectFieldInMessage),
        );
        expect(named, JSON.stringify(r.error!.issues)).to.equal(true);
      });

      it('should be rejected by the CRD schema or by a CEL rule whose message names the field', () => {
        const root = openApiV3Schema() as { properties: Record<string, Schema> };
        const problem = openApiProblem(root.properties['spec']!, m.spec, 'spec');
        if (problem !== undefined) {
          expect(problem).to.include(m.expectFieldInMessage);
          return;
        }
        // Not caught by OpenAPI keywords: a CEL rule must cover it.
        const messages = celMessages(root.properties['spec']!, ['spec']);
        expect(
          messages.some((msg) => msg.includes(m.expectFieldInMessage)),
          `no CEL rule names ${m.expectFieldInMessage}`,
        ).to.equal(true);
      });
    });
  }

  it('should accept a well-formed spec of each form', () => {
    const good = [
      { vmiName: 'vm-1' },
      { vmiName: 'vm-1', targetNode: 'node-2.rack-1', allowLiveSource: true, reason: 'node-3 PSU failed' },
      { vmiName: 'vm-1', flavor: { cpu: { cores: 4, sockets: 1, threads: 2 }, memory: '8Gi' } },
      { vmiName: 'vm-1', flavor: { memory: '0.5Gi' } },
      {
        vmiName: 'vm-1',
        flavor: {
          instancetype: { kind: 'VirtualMachineClusterInstancetype', name: 'u1.large' },
          preference: { kind: 'VirtualMachineClusterPreference', name: 'fedora' },
        },
      },
      { vmiName: 'vm-1', image: 'quay.io/containerdisks/fedora:41' },
      { vmiName: 'vm-1', image: 'localhost:5000/disks/cirros@sha256:' + 'a'.repeat(64) },
      { vmiName: 'vm-1', image: 'fedora' },
    ];
    const root = openApiV3Schema() as { properties: Record<string, Schema> };
    for (const spec of good) {
      const r = InstanceEvacuationSpecSchema.safeParse(spec);
      expect(r.success, `${JSON.stringify(spec)}: ${JSON.stringify(r.error?.issues)}`).to.equal(true);
      expect(openApiProblem(root.properties['spec']!, spec, 'spec')).to.equal(undefined);
    }
  });

  it('should default allowLiveSource to false and prune unknown fields', () => {
    const r = InstanceEvacuationSpecSchema.parse({ vmiName: 'vm-1', bogus: 1 });
    expect(r).to.deep.equal({ vmiName: 'vm-1', allowLiveSource: false });
  });
});

describe('isPositiveQuantity', () => {
  const cases: [string, boolean][] = [
    ['4Gi', true],
    ['512Mi', true],
    ['0.5Gi', true],
    ['1e9', true],
    ['.5', true],
    ['0', false],
    ['0Gi', false],
    ['0.0', false],
    ['-1Gi', false],
    ['+1Gi', false],
    ['4GB', false],
    ['', false],
  ];
  for (const [q, want] of cases)
    it(`should say ${want} for "${q}"`, () => expect(isPositiveQuantity(q)).to.equal(want));
});
