// Lint of the Grafana dashboard (charts/tokensync/dashboards/tokensync.json): every PromQL expression parses (with
// promtool, as recording rules, after Grafana's variables are substituted the way Grafana does), every token and
// provider panel follows $namespace, every panel and query uses the ${datasource} variable, and no query depends on a
// label that only a ServiceMonitor adds (pod, service, endpoint, container).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { findPrometheusTools, promtool } from '../../support/prometheus-tools.ts';
import { REPO_ROOT } from './helm.ts';

interface Target {
  refId: string;
  expr: string;
  datasource?: { type?: string; uid?: string };
  legendFormat?: string;
}
interface Panel {
  id: number;
  title: string;
  type: string;
  description?: string;
  datasource?: { type?: string; uid?: string };
  targets: Target[];
}
interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query?: unknown; datasource?: unknown; allValue?: string }> };
}

const dashboard = JSON.parse(
  readFileSync(join(REPO_ROOT, 'charts', 'tokensync', 'dashboards', 'tokensync.json'), 'utf8'),
) as Dashboard;
const targets = dashboard.panels.flatMap((panel) => panel.targets.map((target) => ({ panel, target })));

// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template literal
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template literal
const NAMESPACE_BRACED = '${namespace}';

/** Metrics about tokens carry the token's namespace label; provider metrics carry the provider object's key. */
const TOKEN_METRIC = /\btokensync_tokens?(_[a-z_]+)?\b/;
const PROVIDER_METRIC = /\btokensync_(mints|revocations|upstream)_/;
/** The controller's own metrics: per process, not per namespace. */
const CONTROLLER_METRIC = /\btokensync_(reconcile|workqueue|leader|shards_owned)[a-z_]*\b/;
/** Labels the Prometheus Operator adds from the Service and Pod; a plain scrape config has none of them. */
const SERVICE_MONITOR_LABELS = ['pod', 'service', 'endpoint', 'container'];

/** Grafana's substitution of the dashboard's variables in a Prometheus query. */
function substitute(expr: string, namespace: string): string {
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__interval', '30s')
    .replaceAll('$__range', '6h')
    .replaceAll(NAMESPACE_BRACED, namespace)
    .replaceAll('$namespace', namespace);
}

describe('dashboard conventions', () => {
  it('uses the datasource variable on every panel and every query', () => {
    const datasource = dashboard.templating.list.find((v) => v.name === 'datasource');
    expect(datasource?.type).toBe('datasource');
    for (const panel of dashboard.panels) {
      expect(panel.datasource, panel.title).toEqual(DATASOURCE);
      for (const target of panel.targets) {
        expect(target.datasource, `${panel.title} ${target.refId}`).toEqual(DATASOURCE);
      }
    }
    const namespace = dashboard.templating.list.find((v) => v.name === 'namespace');
    expect(namespace?.datasource).toEqual(DATASOURCE);
  });

  it('has unique panel ids and refIds, and a description on every panel', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) {
      const refs = panel.targets.map((t) => t.refId);
      expect(new Set(refs).size, panel.title).toBe(refs.length);
      expect(panel.description, panel.title).toBeTruthy();
    }
  });

  it('offers namespaces from a series that is always exported, whatever --token-metrics says', () => {
    const namespace = dashboard.templating.list.find((v) => v.name === 'namespace')!;
    expect(JSON.stringify(namespace.query)).toContain('label_values(tokensync_tokens, namespace)');
    expect(namespace.allValue).toBe('.*');
  });

  it('filters every token query by $namespace and every provider query by the provider objects in it', () => {
    for (const { panel, target } of targets) {
      const where = `${panel.title} ${target.refId}: ${target.expr}`;
      if (TOKEN_METRIC.test(target.expr)) {
        for (const m of target.expr.matchAll(/\btokensync_tokens?(?:_[a-z_]+)?(\{[^}]*\})?/g)) {
          expect(m[1] ?? '', where).toContain('namespace=~"$namespace"');
        }
      } else if (PROVIDER_METRIC.test(target.expr)) {
        for (const m of target.expr.matchAll(/\btokensync_(?:mints|revocations|upstream)_[a-z_]+(\{[^}]*\})?/g)) {
          expect(m[1] ?? '', where).toContain('provider=~"$namespace/.+|cluster/.+"');
        }
      } else {
        // Only the controller's own metrics may ignore $namespace, and the panel must say why.
        expect(target.expr, where).toMatch(CONTROLLER_METRIC);
        expect(panel.description, where).toMatch(/not per namespace/);
      }
    }
  });

  it('needs no label that only a ServiceMonitor adds', () => {
    for (const { panel, target } of targets) {
      const where = `${panel.title} ${target.refId}`;
      const grouping = [...target.expr.matchAll(/\b(?:by|on|without|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)]
        .flatMap((m) => m[1]!.split(','))
        .map((l) => l.trim());
      const matchers = [...target.expr.matchAll(/[{,]\s*([a-z_]+)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]!);
      const legend = [...(target.legendFormat ?? '').matchAll(/\{\{\s*([a-z_]+)\s*\}\}/g)].map((m) => m[1]!);
      for (const label of [...grouping, ...matchers, ...legend]) {
        expect(SERVICE_MONITOR_LABELS, `${where} uses ${label}`).not.toContain(label);
      }
    }
  });
});

const tools = findPrometheusTools();
if ('reason' in tools && process.env['CI']) throw new Error(`dashboard lint cannot run in CI: ${tools.reason}`);
if ('reason' in tools) console.warn(`[dashboard] PromQL parse skipped: ${tools.reason}`);

describe.skipIf('reason' in tools)('dashboard PromQL', () => {
  it('every query parses with promtool, with All and with several namespaces selected', {
    timeout: 60_000,
  }, async () => {
    if ('reason' in tools) return;
    const dir = mkdtempSync(join(tmpdir(), 'tokensync-dashboard-'));
    try {
      const rules = [
        ['all', '.*'],
        ['multi', '(team-a|team-b)'],
      ].flatMap(([variant, namespace]) =>
        targets.map(({ panel, target }) => {
          const expr = substitute(target.expr, namespace!);
          expect(expr, `${panel.title}: unknown variable`).not.toMatch(/\$/);
          return { record: `dashboard:panel_${panel.id}_${target.refId}:${variant}`, expr };
        }),
      );
      writeFileSync(join(dir, 'dashboard.yaml'), stringify({ groups: [{ name: 'dashboard', rules }] }));
      const r = await promtool(tools.binDir, ['check', 'rules', join(dir, 'dashboard.yaml')]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
