/**
 * The layering, written down once (ARCHITECTURE.md explains it) and enforced by `npm run depcruise`
 * in .ci/run:
 *
 *   kernel  ←  ports  ←  core (use cases)  ←  http  ←  app (composition root)  ←  functions / local / cli / tools / bench
 *                 ↑                                         │
 *                 └──────────── adapters (Azure) ←──────────┘
 *
 * A layer imports only layers to its left; adapters implement ports and see only kernel and ports;
 * the Azure SDK is imported by adapters, the composition root and the hosts, nowhere else.
 */
const KERNEL = '^shared/kernel/';
const PORTS = '^shared/ports/';
const ADAPTERS = '^shared/adapters/';
const HTTP = '^shared/(http|openapi)/';
const APP = '^shared/app\\.ts$';
const CORE = '^shared/(?!kernel/|ports/|adapters/|http/|openapi/|app\\.ts$)';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'Import cycles hide the layering; none are allowed.', from: {}, to: { circular: true } },
    { name: 'kernel-is-the-bottom', severity: 'error', comment: 'The kernel (errors, domain model, blob layout) imports nothing of the archive but itself.', from: { path: KERNEL }, to: { path: '^(shared|functions|local|cli|tools|bench)/', pathNot: KERNEL } },
    { name: 'ports-see-only-kernel', severity: 'error', from: { path: PORTS }, to: { path: '^(shared|functions|local|cli|tools|bench)/', pathNot: `${KERNEL}|${PORTS}` } },
    {
      name: 'core-never-calls-up',
      severity: 'error',
      comment: 'Use cases reach storage through ports (shared/deps.ts), never adapters, HTTP, the composition root or a host.',
      from: { path: CORE },
      to: { path: `${ADAPTERS}|${HTTP}|${APP}|^(functions|local|cli|tools|bench)/` },
    },
    { name: 'adapters-implement-ports', severity: 'error', comment: 'Adapters see the kernel and the ports (and each other), nothing above.', from: { path: ADAPTERS }, to: { path: '^(shared|functions|local|cli|tools|bench)/', pathNot: `${KERNEL}|${PORTS}|${ADAPTERS}` } },
    { name: 'http-below-hosts', severity: 'error', comment: 'HTTP maps use cases to requests; it builds nothing and knows no host.', from: { path: HTTP }, to: { path: `${ADAPTERS}|${APP}|^(functions|local|cli|tools|bench)/` } },
    { name: 'shared-never-imports-hosts', severity: 'error', from: { path: '^shared/' }, to: { path: '^(functions|local|cli|tools|bench)/' } },
    { name: 'azure-sdk-only-in-adapters', severity: 'error', comment: 'The Azure SDK stays behind the ports: adapters, the composition root and the hosts only.', from: { path: '^shared/', pathNot: `${ADAPTERS}|${APP}` }, to: { path: 'node_modules/@azure/' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|test/fixtures)' },
    // Type-only imports count: a type from a layer above is still a dependency on it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
