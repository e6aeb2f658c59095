import { App } from 'cdk8s';
import {
  API_VERSION,
  type ApplicationDefinition,
  buildProjectCharts,
  checkDefinitions,
  loadDefinitions,
} from '../constructs';

/** The manifests of charts built from `definitions`, as YAML documents per chart. */
function manifests(definitions: readonly ApplicationDefinition[]): string[] {
  const app = new App({ outdir: '/nonexistent' });
  return buildProjectCharts(app, definitions).map((chart) => JSON.stringify(chart.toJson()));
}

/*
 * Definitions that passed the schema (checkDefinitions, loadDefinitions) are not checked again
 * by their constructs; anything else is. Both paths must give the same manifests, and a
 * definition that did not come from the check must still be refused by its construct.
 */
describe('a definition is checked once', () => {
  test('checked definitions and copies of them (checked again by the constructs) build the same manifests', () => {
    const checked = loadDefinitions('apps').map((c) => c.definition);
    expect(checked.length).toBeGreaterThan(3);
    expect(manifests(checked)).toEqual(manifests(structuredClone(checked)));
  });

  test('a definition typed by hand is still checked by its construct', () => {
    const handTyped = {
      apiVersion: API_VERSION,
      kind: 'CronJob',
      metadata: { name: 'report', project: 'shop' },
      spec: { image: 'ghcr.io/acme/job:1', schedule: '0 3 * * *', backoffLimit: -1 },
    } as ApplicationDefinition;
    expect(() => manifests([handTyped])).toThrow(
      /CronJob "report" in project "shop" is invalid:\n {2}backoffLimit: /,
    );
  });

  test('a copy of a checked definition with a bad value is refused', () => {
    const [{ definition }] = checkDefinitions([
      {
        document: {
          apiVersion: API_VERSION,
          kind: 'StatelessApplication',
          metadata: { name: 'web', project: 'shop' },
          spec: { image: 'ghcr.io/acme/web:1', replicas: 2 },
        },
        source: { file: 'inline', document: 1 },
      },
    ]);
    const changed = { ...definition, spec: { ...definition.spec, replicas: 5000 } };
    expect(() => manifests([changed as ApplicationDefinition])).toThrow(/replicas: given 5000/);
    expect(manifests([definition])).toHaveLength(1);
  });
});
