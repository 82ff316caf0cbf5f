// The alert thresholds as users set them: every `--set` form docs/operations.md shows must render (helm's --set turns
// 0.2 into a string, which values.schema.json must accept), and out-of-range values must be refused.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findHelm, KUBE_VERSION, REPO_ROOT } from './helm.ts';
import { renderChart } from './render.ts';

const helm = findHelm();
if ('reason' in helm && process.env['CI']) throw new Error(`chart --set tests cannot run in CI: ${helm.reason}`);
if ('reason' in helm) console.warn(`[values-set] skipped: ${helm.reason}`);

/** The `--set…` arguments of the `helm upgrade` example in docs/operations.md ("Alerts"), and of its comment line. */
function documentedSetForms(): string[][] {
  const ops = readFileSync(join(REPO_ROOT, 'docs', 'operations.md'), 'utf8');
  const block = /```sh\n(helm upgrade tokensync[\s\S]*?)```/.exec(ops)?.[1];
  if (!block) throw new Error('docs/operations.md has no helm upgrade example');
  const command = block
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join(' ');
  const main = [...command.matchAll(/--set(?:-string|-json)? (\S+)/g)].map((m) => m[0].split(' '));
  const alternatives = [...block.matchAll(/# or (.*)/g)].flatMap((m) =>
    m[1]!.split(/, or |, /).map((form) => {
      const [flag, value] = form.trim().split(/ (.+)/);
      return [flag!, value!.replace(/^'|'$/g, '')];
    }),
  );
  return [main.flat(), ...alternatives];
}

function rule(args: string[]): string {
  if ('reason' in helm) return '';
  const [r] = renderChart(helm.helm, ['--set', 'metrics.prometheusRule.enabled=true', ...args], 'PrometheusRule');
  return JSON.stringify(r);
}

describe.skipIf('reason' in helm)('alert thresholds set from the command line', () => {
  it('docs/operations.md shows the forms tested here', () => {
    const forms = documentedSetForms();
    expect(forms.length).toBeGreaterThanOrEqual(3);
    expect(forms.flat().filter((a) => a.includes('upstreamErrorRatio=0.2')).length).toBeGreaterThanOrEqual(3);
  });

  it('renders every documented form with the ratio in the alert expression', () => {
    for (const args of documentedSetForms()) {
      const text = rule(args);
      expect(text, args.join(' ')).toContain('> 0.2');
      expect(text, args.join(' ')).toContain('More than 20% of the requests');
    }
  });

  it('renders the other documented values into the rules', () => {
    const [main] = documentedSetForms();
    const text = rule(main!);
    expect(text).toContain('0.05 * (');
    expect(text).toMatch(/"alert":"TokensyncTokenNotReady","expr":"[^"]*","for":"5m"/);
  });

  it('accepts an integer and a plain number from a values file too', () => {
    expect(rule(['--set', 'metrics.prometheusRule.upstreamErrorRatio=1'])).toContain('> 1');
    expect(rule(['--set-json', 'metrics.prometheusRule.renewalOverdue.fraction=0.25'])).toContain('0.25 * (');
  });

  it('refuses a ratio out of range or not a number, naming the value', () => {
    if ('reason' in helm) return;
    for (const bad of ['1.5', 'abc', '0', '-0.1']) {
      const r = spawnSync(
        helm.helm,
        [
          'template',
          'x',
          join(REPO_ROOT, 'charts', 'tokensync'),
          '--kube-version',
          KUBE_VERSION,
          '--set',
          `metrics.prometheusRule.upstreamErrorRatio=${bad}`,
        ],
        { encoding: 'utf8' },
      );
      expect(r.status, `accepted upstreamErrorRatio=${bad}`).not.toBe(0);
      expect(r.stderr).toContain('upstreamErrorRatio');
    }
  });
});
