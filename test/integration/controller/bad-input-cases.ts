// The bad-input table: what a user can get wrong, and what they see. Every case is proven against the real API
// server by bad-input.test.ts, and docs/operations.md ("Condition reasons and what to do") publishes the table;
// the test checks that every case's input appears there.

type Obj = Record<string, unknown>;

/** Context a case's objects are built in: its own namespace and the reference credentials API. */
export interface CaseContext {
  ns: string;
  url: string;
  adminKey: string;
  /** The ServiceAccountToken `t` of the case, with a spec built on a working default. */
  token(spec?: Obj, metadata?: Obj): Obj;
  /** The default CredentialsProvider `reference` and its credential Secret, with overrides. */
  provider(spec?: Obj, name?: string): Obj;
  credential(overrides?: { labels?: Record<string, string>; data?: Record<string, string>; name?: string }): Obj;
}

export interface BadInputCase {
  /** What the user wrote, as the table's first column says it. */
  input: string;
  /** Objects applied first; they must be accepted. Default: the working credential and provider. */
  setup?(c: CaseContext): Obj[];
  /** The object under test (usually the token `t`). */
  apply(c: CaseContext): Obj;
  /** Refused by the API server at apply time (schema or CEL), with this message... */
  admission?: RegExp;
  /** ...or accepted, and then the token's Ready condition says this. */
  reason?: string;
  message?: RegExp;
  /** Whether one token is minted (and must be revoked) before the problem is found. */
  mintsAndRevokes?: boolean;
  /** What to do, for the table. */
  fix: string;
}

const SSA = 'tokensync.io/v1alpha1';
const many = (n: number, make: (i: number) => [string, string]) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => make(i)));

export const CASES: BadInputCase[] = [
  // ---- ServiceAccountToken, refused at admission (CRD schema and CEL) ----
  {
    input: 'no `spec.providerRef`',
    apply: (c) => c.token({ providerRef: undefined }),
    admission: /spec\.providerRef: Required value/,
    fix: 'Name the CredentialsProvider (or ClusterCredentialsProvider) that mints the token.',
  },
  {
    input: '`providerRef.kind: Issuer`',
    apply: (c) => c.token({ providerRef: { kind: 'Issuer', name: 'reference' } }),
    admission: /spec\.providerRef\.kind: Unsupported value: "Issuer"/,
    fix: 'Use CredentialsProvider (same namespace) or ClusterCredentialsProvider.',
  },
  {
    input: '`providerRef.name: My_Provider`',
    apply: (c) => c.token({ providerRef: { name: 'My_Provider' } }),
    admission: /spec\.providerRef\.name: Invalid value: "My_Provider"/,
    fix: 'Object names are lower-case DNS names.',
  },
  {
    input: '`tokenName: Reporting` (upper case)',
    apply: (c) => c.token({ tokenName: 'Reporting' }),
    admission: /spec\.tokenName: Invalid value: "Reporting"/,
    fix: 'Lower-case letters, digits and `-`; tokensync appends the uid and revision.',
  },
  {
    input: '`tokenName` longer than 40 characters',
    apply: (c) => c.token({ tokenName: 'a'.repeat(41) }),
    admission: /spec\.tokenName: Too long/,
    fix: 'At most 40 characters, so the upstream name with its suffix stays short.',
  },
  {
    input: '`lifetime: 30 days`',
    apply: (c) => c.token({ lifetime: '30 days' }),
    admission: /spec\.lifetime: Invalid value: "30 days"/,
    fix: 'A Go duration: `720h`, `90m`, `1h30m` (no `d`).',
  },
  {
    input: '`lifetime: 30s`',
    apply: (c) => c.token({ lifetime: '30s' }),
    admission: /lifetime must be at least 1m/,
    fix: 'At least `1m`; shorter lifetimes would renew faster than the 10 s floor.',
  },
  {
    input: '`renewBefore` without `lifetime`',
    apply: (c) => c.token({ lifetime: undefined, renewBefore: '1h' }),
    admission: /renewBefore must be shorter than lifetime \(and lifetime must be set\)/,
    fix: 'Set `lifetime`, or use `renewBeforePercentage`.',
  },
  {
    input: '`renewBefore: 24h` with `lifetime: 24h`',
    apply: (c) => c.token({ lifetime: '24h', renewBefore: '24h' }),
    admission: /renewBefore must be shorter than lifetime/,
    fix: 'renewBefore must leave part of the lifetime, e.g. `8h` of `24h`.',
  },
  {
    input: '`renewBefore` and `renewBeforePercentage` together',
    apply: (c) => c.token({ lifetime: '24h', renewBefore: '8h', renewBeforePercentage: 33 }),
    admission: /set renewBefore or renewBeforePercentage, not both/,
    fix: 'Keep one of the two.',
  },
  {
    input: '`renewBeforePercentage: 0`',
    apply: (c) => c.token({ renewBeforePercentage: 0 }),
    admission:
      /spec\.renewBeforePercentage: Invalid value: 0: spec\.renewBeforePercentage in body should be greater than or equal to 1/,
    fix: '1 to 99 (percent of the lifetime left when renewing).',
  },
  {
    input: '`renewBeforePercentage: 100`',
    apply: (c) => c.token({ renewBeforePercentage: 100 }),
    admission: /spec\.renewBeforePercentage in body should be less than or equal to 99/,
    fix: '1 to 99.',
  },
  {
    input: '`rotation.gracePeriod: 5 minutes`',
    apply: (c) => c.token({ rotation: { gracePeriod: '5 minutes' } }),
    admission: /spec\.rotation\.gracePeriod: Invalid value: "5 minutes"/,
    fix: 'A Go duration such as `5m`.',
  },
  {
    input: '`rotation.every: 90d`',
    apply: (c) => c.token({ rotation: { every: '90d' } }),
    admission: /spec\.rotation\.every: Invalid value: "90d"/,
    fix: 'Hours: `2160h`.',
  },
  {
    input: '`secret.template` key `app env` (a space)',
    apply: (c) => c.token({ secret: { template: { 'app env': '{{ .token }}' } } }),
    admission: /secret\.template keys must be valid Secret data keys/,
    fix: 'Secret data keys: letters, digits, `-`, `_`, `.`.',
  },
  {
    input: '`secret.template` with 65 keys',
    apply: (c) => c.token({ secret: { template: many(65, (i) => [`k${i}`, '{{ .token }}']) } }),
    admission: /spec\.secret\.template: Too many: 65: must have at most 64 items/,
    fix: 'At most 64 keys.',
  },
  {
    input: '`secret.template` value over 64 KiB',
    apply: (c) => c.token({ secret: { template: { token: `{{ .token }}${'x'.repeat(65_537)}` } } }),
    admission: /spec\.secret\.template\.token: Too long/,
    fix: 'At most 65536 characters per template.',
  },
  {
    input: '`secret.name: Token_Secret`',
    apply: (c) => c.token({ secret: { name: 'Token_Secret' } }),
    admission: /spec\.secret\.name: Invalid value: "Token_Secret"/,
    fix: 'A lower-case DNS name.',
  },
  {
    input: '`deletionPolicy: Delete`',
    apply: (c) => c.token({ deletionPolicy: 'Delete' }),
    admission: /spec\.deletionPolicy: Unsupported value: "Delete"/,
    fix: '`Revoke` (default) or `Retain`.',
  },
  {
    input: '`restartTargets: [{kind: Pod}]`',
    apply: (c) => c.token({ restartTargets: [{ kind: 'Pod', name: 'app' }] }),
    admission: /spec\.restartTargets\[0\]\.kind: Unsupported value: "Pod"/,
    fix: 'Deployment, StatefulSet or DaemonSet.',
  },
  {
    input: '65 `scopes`',
    apply: (c) => c.token({ scopes: Array.from({ length: 65 }, (_, i) => `s${i}`) }),
    admission: /spec\.scopes: Too many: 65: must have at most 64 items/,
    fix: 'At most 64 scopes.',
  },
  {
    input: '`serviceAccount` longer than 253 characters',
    apply: (c) => c.token({ serviceAccount: 'a'.repeat(254) }),
    admission: /spec\.serviceAccount: Too long/,
    fix: 'At most 253 characters.',
  },
  {
    input: 'an `attributes` value over 1 KiB',
    apply: (c) => c.token({ attributes: { note: 'x'.repeat(1025) } }),
    admission: /spec\.attributes\.note: Too long/,
    fix: 'At most 1024 characters per attribute.',
  },
  {
    input: 'a misspelt field (`spec.lifeTime`)',
    apply: (c) => c.token({ lifeTime: '24h' }),
    admission: /\.spec\.lifeTime: field not declared in schema/,
    fix: '`kubectl explain sat.spec` lists the fields.',
  },
  // ---- ServiceAccountToken updates refused at admission ----
  {
    input: 'changing `providerRef`',
    setup: (c) => [c.credential(), c.provider(), c.token()],
    apply: (c) => c.token({ providerRef: { name: 'other' } }),
    admission: /providerRef is immutable: delete and recreate the resource to move to another provider/,
    fix: 'Delete and recreate the resource (its tokens are revoked with the old provider).',
  },
  {
    input: 'changing `secret.name`',
    setup: (c) => [c.credential(), c.provider(), c.token({ secret: { name: 'first' } })],
    apply: (c) => c.token({ secret: { name: 'second' } }),
    admission: /secret\.name is immutable: the old Secret would be orphaned/,
    fix: 'Delete and recreate the resource.',
  },
  {
    input: 'adding `secret.name` after creation',
    setup: (c) => [c.credential(), c.provider(), c.token()],
    apply: (c) => c.token({ secret: { name: 'later' } }),
    admission: /secret\.name cannot be added or removed after creation/,
    fix: 'Delete and recreate the resource.',
  },
  {
    input: 'removing the `secret` block that named the Secret',
    setup: (c) => [c.credential(), c.provider(), c.token({ secret: { name: 'named' } })],
    apply: (c) => c.token(),
    admission: /secret\.name cannot be added or removed after creation: the old Secret would be orphaned/,
    fix: 'Delete and recreate the resource.',
  },
  {
    input: 'adding `secret.type: kubernetes.io/basic-auth` after creation',
    setup: (c) => [c.credential(), c.provider(), c.token()],
    apply: (c) => c.token({ secret: { type: 'kubernetes.io/basic-auth' } }),
    admission: /secret\.type is immutable: the API server cannot change a Secret's type/,
    fix: "A Secret's type cannot change: delete and recreate the resource.",
  },
  {
    input: 'changing `secret.type`',
    setup: (c) => [c.credential(), c.provider(), c.token({ secret: { type: 'Opaque' } })],
    apply: (c) => c.token({ secret: { type: 'example.com/token' } }),
    admission: /secret\.type is immutable/,
    fix: "A Secret's type cannot change: delete and recreate the resource.",
  },
  // ---- Providers, refused at admission ----
  {
    input: 'provider `type: vault`',
    setup: (c) => [c.credential()],
    apply: (c) => c.provider({ type: 'vault' }),
    admission: /spec\.type: Unsupported value: "vault"/,
    fix: 'reference, iomete, rill, customerio, augment or http.',
  },
  {
    input: 'provider without `url`',
    setup: (c) => [c.credential()],
    apply: (c) => c.provider({ url: undefined }),
    admission: /spec\.url is required for this provider type/,
    fix: 'The base URL of the credentials API.',
  },
  {
    input: 'provider `type: http` without `spec.http`',
    setup: (c) => [c.credential()],
    apply: (c) => c.provider({ type: 'http' }),
    admission: /spec\.http is required when type is http/,
    fix: 'Describe the issue (and revoke, lookup) calls in `spec.http`.',
  },
  {
    input: 'provider `url: http://…` without `allowInsecureHttp`',
    setup: (c) => [c.credential()],
    apply: (c) => c.provider({ allowInsecureHttp: undefined }),
    admission: /spec\.url must be https:\/\/ unless spec\.allowInsecureHttp is true/,
    fix: 'Use https; plain http only for loopback test servers.',
  },
  {
    input: 'provider without `auth`',
    apply: (c) => c.provider({ auth: undefined }),
    admission: /spec\.auth\.secretRef is required: it names the management credential/,
    fix: 'Point `auth.secretRef` at the Secret key holding the management credential.',
  },
  {
    input: 'provider `type: rill` without `spec.rill`',
    setup: (c) => [c.credential()],
    apply: (c) => c.provider({ type: 'rill', url: 'https://api.rilldata.com' }),
    admission: /spec\.rill is required when type is rill/,
    fix: 'Set `rill.org` (and `rill.project` for ephemeral tokens).',
  },
  {
    input: 'rill `mode: ephemeral` without `project`',
    setup: (c) => [c.credential()],
    apply: (c) =>
      c.provider({ type: 'rill', url: 'https://api.rilldata.com', rill: { org: 'acme', mode: 'ephemeral' } }),
    admission: /rill\.project is required when rill\.mode is ephemeral/,
    fix: 'Name the project whose credentials are exchanged.',
  },
  {
    input: 'provider `rateLimit.requestsPerSecond: 0`',
    setup: (c) => [c.credential()],
    apply: (c) => c.provider({ rateLimit: { requestsPerSecond: 0, burst: 1 } }),
    admission: /rateLimit\.requestsPerSecond must be at least 0\.01: a rate of 0 would never call the API/,
    fix: 'A positive rate: the limit is never exceeded, so 0 would never call the API.',
  },
  {
    input: 'ClusterCredentialsProvider `secretRef` without `namespace`',
    apply: (c) => ({
      apiVersion: SSA,
      kind: 'ClusterCredentialsProvider',
      metadata: { name: `${c.ns}-cluster` },
      spec: {
        type: 'reference',
        url: c.url,
        allowInsecureHttp: true,
        auth: { secretRef: { name: 'reference-admin', key: 'token' } },
      },
    }),
    admission: /spec\.auth\.secretRef\.namespace: Required value/,
    fix: 'A cluster-scoped provider names the namespace of its credential Secret.',
  },
  // ---- Accepted, then refused by the controller: the Ready condition says why ----
  {
    input: 'template with an unknown variable (`{{ .tokn }}`)',
    apply: (c) => c.token({ secret: { template: { token: '{{ .tokn }}' } } }),
    reason: 'InvalidSpec',
    message:
      /^secret\.template\["token"\]: unknown variable \.tokn \(known: token, tokenId, expiresAt, serviceAccount, scopes, .*\)$/,
    fix: 'Use one of the variables the message lists.',
  },
  {
    input: 'template with an unknown filter (`{{ .token | upper }}`)',
    apply: (c) => c.token({ secret: { template: { token: '{{ .token | upper }}' } } }),
    reason: 'InvalidSpec',
    message: /^secret\.template\["token"\]: unknown filter "upper" \(known: json, base64\)$/,
    fix: 'Filters: `json`, `base64`.',
  },
  {
    input: 'template with an unclosed expression (`{{ .token`)',
    apply: (c) => c.token({ secret: { template: { token: 'Bearer {{ .token' } } }),
    reason: 'InvalidSpec',
    message: /malformed expression; write \{\{ \.variable \}\} or \{\{ \.variable \| json \}\}/,
    fix: 'Close the expression: `{{ .token }}`.',
  },
  {
    input: '`providerRef` to a provider that does not exist',
    apply: (c) => c.token({ providerRef: { name: 'nowhere' } }),
    reason: 'ProviderNotReady',
    message: /^CredentialsProvider nowhere not found in namespace bad-\d+$/,
    fix: 'Create the provider (tokensync issues as soon as it appears) or fix the name.',
  },
  {
    input: "the provider's credential Secret does not exist",
    setup: (c) => [c.provider({ auth: { secretRef: { name: 'absent', key: 'token' } } })],
    apply: (c) => c.token(),
    // Unlabelled and missing look the same: telling them apart would mean reading a Secret that is not a credential.
    reason: 'CredentialNotAllowed',
    message: /^Secret bad-\d+\/absent is not marked as a provider credential: .* \(or it does not exist\)$/,
    fix: 'Create the Secret named by `auth.secretRef`, labelled `tokensync.io/credential=true`.',
  },
  {
    input: 'the credential Secret lacks the key',
    setup: (c) => [c.credential({ data: { apiKey: c.adminKey } }), c.provider()],
    apply: (c) => c.token(),
    reason: 'CredentialMissing',
    message: /management credential Secret bad-\d+\/reference-admin key "token" not found/,
    fix: 'Fix `auth.secretRef.key` or the Secret.',
  },
  {
    input: 'the credential Secret is not labelled `tokensync.io/credential=true`',
    setup: (c) => [c.credential({ labels: {} }), c.provider()],
    apply: (c) => c.token(),
    reason: 'CredentialNotAllowed',
    message:
      /is not marked as a provider credential: whoever may read it can allow it with kubectl label secret reference-admin -n bad-\d+ tokensync\.io\/credential=true/,
    fix: 'Whoever may read the Secret labels it (the message gives the command).',
  },
  {
    input: 'a ClusterCredentialsProvider whose `namespaceSelector` does not admit the namespace',
    setup: (c) => [
      c.credential(),
      {
        apiVersion: SSA,
        kind: 'ClusterCredentialsProvider',
        metadata: { name: `${c.ns}-shared` },
        spec: {
          type: 'reference',
          url: c.url,
          allowInsecureHttp: true,
          auth: { secretRef: { name: 'reference-admin', key: 'token', namespace: c.ns } },
          namespaceSelector: { matchLabels: { team: 'elsewhere' } },
        },
      },
    ],
    apply: (c) => c.token({ providerRef: { kind: 'ClusterCredentialsProvider', name: `${c.ns}-shared` } }),
    reason: 'ProviderNotAllowed',
    message: /^ClusterCredentialsProvider bad-\d+-shared does not admit namespace bad-\d+ \(spec\.namespaceSelector\)$/,
    fix: "Label the namespace to match the provider's `namespaceSelector` (platform team).",
  },
  {
    input: "a Secret of the same name exists and is not tokensync's",
    setup: (c) => [
      c.credential(),
      c.provider(),
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 't', namespace: c.ns }, stringData: { token: 'mine' } },
    ],
    apply: (c) => c.token(),
    reason: 'SecretConflict',
    message:
      /^Secret t exists and is not managed by this ServiceAccountToken; tokensync will not overwrite it\. Delete or rename it, or set spec\.secret\.name$/,
    fix: 'Delete or rename the other Secret, or recreate the resource with another `secret.name`.',
  },
  {
    input: 'a wrong management key',
    setup: (c) => [c.credential({ data: { token: 'not-the-admin-key' } }), c.provider()],
    apply: (c) => c.token(),
    reason: 'UpstreamRejected',
    message: /^Permanent: .*401/,
    fix: 'Put a valid management credential in the Secret; tokensync reads it again within 30 s.',
  },
  {
    input: 'no `serviceAccount` for a provider that needs one',
    apply: (c) => c.token({ serviceAccount: undefined }),
    reason: 'UpstreamRejected',
    message: /^Permanent: reference issue: spec\.serviceAccount is required/,
    fix: 'Name the upstream service account.',
  },
  {
    input: '`serviceAccount` the credentials API refuses (`etl bot`)',
    apply: (c) => c.token({ serviceAccount: 'etl bot' }),
    reason: 'UpstreamRejected',
    message: /^Permanent: .*400/,
    fix: 'Use the id the credentials API knows.',
  },
  {
    input: 'an empty scope (`scopes: [""]`)',
    apply: (c) => c.token({ scopes: [''] }),
    reason: 'UpstreamRejected',
    message: /^Permanent: .*400.*scopes/,
    fix: 'Remove the empty scope.',
  },
  {
    input: '`secret.type: kubernetes.io/tls` with a `token` key',
    apply: (c) => c.token({ secret: { type: 'kubernetes.io/tls' } }),
    reason: 'SecretRejected',
    // The first attempt mints and revokes; later ones dry-run the Secret first and mint nothing.
    message:
      /(was minted but not stored|cannot be written \(checked with a dry run; nothing was minted\)): the API server refused the Secret: Kubernetes API 422: .*tls\.(crt|key)/,
    mintsAndRevokes: true,
    fix: 'A typed Secret needs the keys its type requires (template them), or use Opaque.',
  },
  {
    input: '`secret.labels` with an invalid value (`data science`)',
    apply: (c) => c.token({ secret: { labels: { team: 'data science' } } }),
    reason: 'SecretRejected',
    message: /Kubernetes API 422: .*metadata\.labels: Invalid value: "data science"/,
    mintsAndRevokes: true,
    fix: 'Label values: letters, digits, `-`, `_`, `.`, at most 63.',
  },
  {
    input: '`secret.annotations` with an invalid key (`my note`)',
    apply: (c) => c.token({ secret: { annotations: { 'my note': 'x' } } }),
    reason: 'SecretRejected',
    message: /Kubernetes API 422: .*metadata\.annotations: Invalid value: "my note"/,
    mintsAndRevokes: true,
    fix: 'Annotation keys are qualified names (`example.com/note`).',
  },
  {
    input: 'a template over 64 KiB (its Secret would not fit in 1 MiB)',
    apply: (c) => c.token({ secret: { template: many(20, (i) => [`k${i}`, `{{ .token }}${'x'.repeat(60_000)}`]) } }),
    reason: 'InvalidSpec',
    message: /^secret\.template is 12\d{5} bytes, over the limit of 65536; shorten it$/,
    fix: 'Make the template smaller: a template holds at most 64 KiB and the Secret it renders at most 512 KiB.',
  },
];
