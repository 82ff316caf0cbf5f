// A local Kubernetes control plane for humans and the demo: etcd + kube-apiserver + kube-controller-manager with the
// tokensync CRDs installed, the same one the integration tests use (test/support/control-plane.ts). No Docker needed.
//
//   npx node scripts/control-plane.ts up [--dir DIR] [--no-crds] [--audit-writes]
//
// Prints `export KUBECONFIG=...` (and the bin dir of the matching kubectl) and runs until SIGINT/SIGTERM. With --dir
// the certificates, etcd data, logs and kubeconfig are kept there after stop; without, a temp dir is removed.
import { parseArgs } from 'node:util';
import { startControlPlane } from '../test/support/control-plane.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    dir: { type: 'string' },
    'no-crds': { type: 'boolean', default: false },
    'audit-writes': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help || positionals[0] !== 'up') {
  process.stderr.write(
    'usage: npx node scripts/control-plane.ts up [--dir DIR] [--no-crds] [--audit-writes]\n' +
      'Starts etcd, kube-apiserver and kube-controller-manager on loopback and runs until Ctrl-C.\n',
  );
  process.exit(values.help ? 0 : 2);
}

const log = (message: string) => process.stderr.write(`[control-plane] ${message}\n`);
const plane = await startControlPlane({
  controllerManager: true,
  crds: !values['no-crds'],
  auditWrites: values['audit-writes'],
  ...(values.dir ? { dir: values.dir } : {}),
  log,
});

process.stdout.write(`export KUBECONFIG=${plane.kubeconfigPath}\n`);
process.stdout.write(`export PATH=${plane.binDir}:$PATH  # kubectl and helm matching the server\n`);
if (plane.auditLogPath) process.stdout.write(`# audit log of writes: ${plane.auditLogPath}\n`);
log(`API server ${plane.server}; logs in ${plane.dir}/*.log. Ctrl-C to stop.`);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping`);
  await plane.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
// Keep the event loop alive until a signal arrives.
setInterval(() => {}, 1 << 30);
