// vitest globalSetup of the integration project: makes sure etcd, kube-apiserver, kube-controller-manager, kubectl
// and helm are built (scripts/control-plane-build.sh streams its progress to stderr; when the binaries are cached it
// returns at once) and hands their directory to the test files through TOKENSYNC_KUBE_BIN. Each test file then
// starts its own control plane with test/support/control-plane.ts.
import { buildControlPlaneBinaries } from './control-plane.ts';

export default async function setup(): Promise<void> {
  if (process.env['TOKENSYNC_KUBE_BIN']) return; // set by the caller (e.g. CI with prebuilt binaries)
  const started = Date.now();
  const bin = await buildControlPlaneBinaries();
  const seconds = Math.round((Date.now() - started) / 1000);
  if (seconds > 5) process.stderr.write(`[global-setup] control plane binaries ready in ${seconds}s: ${bin}\n`);
  // Workers (forks) are spawned after globalSetup and inherit the environment.
  process.env['TOKENSYNC_KUBE_BIN'] = bin;
}
