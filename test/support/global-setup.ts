// vitest globalSetup of the integration project: makes sure etcd, kube-apiserver, kube-controller-manager, kubectl
// and helm are built (scripts/control-plane-build.sh streams its progress to stderr; when the binaries are cached it
// returns at once) and hands their directory to the test files through TOKENSYNC_KUBE_BIN. Each test file then
// starts its own control plane with test/support/control-plane.ts.
import { buildControlPlaneBinaries } from './control-plane.ts';
import { buildPrometheusTools } from './prometheus-tools.ts';

export default async function setup(): Promise<void> {
  // Either may be set by the caller (e.g. CI with prebuilt binaries). Workers (forks) are spawned after globalSetup
  // and inherit the environment.
  if (!process.env['TOKENSYNC_KUBE_BIN']) {
    const started = Date.now();
    const bin = await buildControlPlaneBinaries();
    const seconds = Math.round((Date.now() - started) / 1000);
    if (seconds > 5) process.stderr.write(`[global-setup] control plane binaries ready in ${seconds}s: ${bin}\n`);
    process.env['TOKENSYNC_KUBE_BIN'] = bin;
  }
  // promtool and prometheus (scripts/prometheus-build.sh) for the alerting test.
  if (!process.env['TOKENSYNC_PROMETHEUS_BIN']) {
    const started = Date.now();
    const bin = await buildPrometheusTools();
    const seconds = Math.round((Date.now() - started) / 1000);
    if (seconds > 5) process.stderr.write(`[global-setup] prometheus binaries ready in ${seconds}s: ${bin}\n`);
    process.env['TOKENSYNC_PROMETHEUS_BIN'] = bin;
  }
}
