// Consistency of the chart's files with each other and with the code, without helm: values.yaml vs its schema and
// docs, alert rules and the dashboard vs the metrics the controller actually exports, RBAC docs vs templates.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isMap, parseDocument, type YAMLMap } from 'yaml';
import { Reason } from '../../../src/api/v1alpha1/conditions.ts';
import { REPO_ROOT } from './helm.ts';

const chart = (path: string) => readFileSync(join(REPO_ROOT, 'charts', 'tokensync', path), 'utf8');
const doc = (path: string) => readFileSync(join(REPO_ROOT, 'docs', path), 'utf8');

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
}

const values = parseDocument(chart('values.yaml'));
const schema = JSON.parse(chart('values.schema.json')) as Schema;

/** Leaf value paths, not descending into free-form Kubernetes objects (the schema marks those without properties). */
function leafPaths(node: YAMLMap, schemaNode: Schema | undefined, prefix = ''): string[] {
  return node.items.flatMap((pair) => {
    const key = String((pair.key as { value: unknown }).value);
    const path = prefix ? `${prefix}.${key}` : key;
    const sub = schemaNode?.properties?.[key];
    if (isMap(pair.value) && sub?.properties && sub.additionalProperties === false && path !== 'resources') {
      return leafPaths(pair.value, sub, path);
    }
    return [path];
  });
}

const paths = leafPaths(values.contents as YAMLMap, schema);

/** Every metric family the controller declares (prom-client metrics in metrics.ts, token families beside it). */
const metricNames = ['metrics.ts', 'token-series.ts'].flatMap((file) =>
  [...readFileSync(join(REPO_ROOT, 'src', 'observability', file), 'utf8').matchAll(/name: '(tokensync_[a-z_]+)'/g)].map(
    (m) => m[1]!,
  ),
);

function metricsUsedIn(text: string): string[] {
  return [...new Set([...text.matchAll(/\btokensync_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, '')))];
}

describe('values.yaml and values.schema.json', () => {
  it('the schema is strict at the top and in every nested block of the chart', () => {
    expect(schema.additionalProperties).toBe(false);
    for (const [key, sub] of Object.entries(schema.properties!)) {
      if (sub.properties && Object.keys(sub.properties).length > 0 && key !== 'resources') {
        expect(sub.additionalProperties, key).toBe(false);
      }
    }
  });

  it('describes every value, and has no value that the schema does not know', () => {
    const top = (values.contents as YAMLMap).items.map((p) => String((p.key as { value: unknown }).value));
    expect(top.sort()).toEqual(
      Object.keys(schema.properties!)
        .filter((k) => k !== 'global')
        .sort(),
    );
    const lookup = (path: string) => path.split('.').reduce<Schema | undefined>((s, k) => s?.properties?.[k], schema);
    for (const path of paths) expect(lookup(path), path).toBeDefined();
  });

  it('every value has a comment in values.yaml', () => {
    const comments = new Map<string, string>();
    const walk = (node: YAMLMap, prefix: string) => {
      node.items.forEach((pair, i) => {
        const key = pair.key as { value: unknown; commentBefore?: string | null };
        const path = prefix ? `${prefix}.${key.value}` : String(key.value);
        // The comment of a block's first key is attached to the block itself by the YAML parser.
        const comment = (i === 0 ? (node.commentBefore ?? key.commentBefore) : key.commentBefore) ?? '';
        comments.set(path, comment.trim());
        if (isMap(pair.value)) walk(pair.value, path);
      });
    };
    walk(values.contents as YAMLMap, '');
    expect(paths.filter((p) => !comments.get(p))).toEqual([]);
  });

  it('docs/configuration.md lists every value and every controller flag', () => {
    const config = doc('configuration.md');
    for (const path of paths) expect(config, path).toContain(`\`${path}\``);
    const flags = [
      ...readFileSync(join(REPO_ROOT, 'src', 'cli', 'controller-flags.ts'), 'utf8').matchAll(
        /^\s+'?([a-z-]+)'?: (?:z\.|duration|bindAddress|list)/gm,
      ),
    ].map((m) => m[1]!);
    expect(flags.length).toBeGreaterThan(10);
    for (const flag of flags) expect(config, flag).toContain(`\`--${flag}\``);
  });
});

describe('monitoring', () => {
  it('alerts and dashboard query only metrics the controller exports', () => {
    expect(metricNames).toContain('tokensync_token_ready');
    const used = [
      ...metricsUsedIn(chart('templates/prometheusrule.yaml')),
      ...metricsUsedIn(chart('dashboards/tokensync.json')),
    ];
    expect(used.length).toBeGreaterThan(8);
    for (const name of used) expect(metricNames, name).toContain(name);
  });

  it('use the Ready status and reason label values the controller sets', () => {
    const reasons = Object.values(Reason) as string[];
    let checked = 0;
    for (const text of [chart('templates/prometheusrule.yaml'), chart('dashboards/tokensync.json')]) {
      for (const m of text.matchAll(/\bready\s*!?=~?\s*\\?"([^"\\]*)\\?"/g)) {
        expect(['True', 'False', 'Unknown']).toContain(m[1]);
        checked++;
      }
      for (const m of text.matchAll(/\breason\s*!?=~?\s*\\?"([^"\\]*)\\?"/g)) {
        expect(reasons).toContain(m[1]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('docs/operations.md documents every metric', () => {
    const ops = doc('operations.md');
    for (const name of metricNames) expect(ops, name).toContain(`\`${name}\``);
  });

  it('the dashboard is valid JSON with the promised panels and a datasource variable', () => {
    const dashboard = JSON.parse(chart('dashboards/tokensync.json')) as {
      uid: string;
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
      templating: { list: Array<{ name: string }> };
    };
    expect(dashboard.uid).toBe('tokensync');
    const titles = dashboard.panels.map((p) => p.title.toLowerCase()).join('|');
    for (const topic of ['state', 'expiry', 'renewal', 'upstream error', 'reconcile latency']) {
      expect(titles, topic).toContain(topic);
    }
    expect(dashboard.templating.list.map((v) => v.name)).toContain('datasource');
    for (const panel of dashboard.panels) expect(panel.targets.length, panel.title).toBeGreaterThan(0);
  });
});

describe('RBAC documentation', () => {
  it('docs/security.md explains every resource the chart grants', () => {
    const security = doc('security.md');
    const helpers =
      chart('templates/_helpers.tpl') + chart('templates/rbac.yaml') + chart('templates/metrics-rbac.yaml');
    const resources = new Set(
      [...helpers.matchAll(/resources: \[([^\]]+)\]/g)].flatMap((m) =>
        m[1]!.split(',').map((r) => r.trim().replace(/"/g, '')),
      ),
    );
    expect(resources.size).toBeGreaterThan(8);
    expect(resources).toContain('tokenreviews');
    for (const resource of resources) expect(security, resource).toContain(`\`${resource}\``);
  });
});
