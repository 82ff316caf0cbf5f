#!/usr/bin/env node
// kubectl_complete-tokensync: kubectl (1.26+) runs this for `kubectl tokensync <TAB>` with the words after
// "tokensync" and the word being completed, and reads cobra's completion format: the plugin's `__complete`.
process.argv.splice(2, 0, '__complete');
await import('./kubectl-plugin.ts');
