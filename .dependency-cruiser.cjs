/**
 * The import arrows of ARCHITECTURE.md, checked on every `npm test`.
 * A part may import only the parts listed for it, only through their index.ts,
 * and each vendor library stays inside the one part that owns it.
 */
const parts = {
  core: [],
  formats: ["core"],
  storage: ["core"],
  catalog: ["core"],
  search: ["core"],
  api: ["core"],
  pipelines: ["core", "formats", "storage", "catalog", "search"],
  app: ["core", "formats", "storage", "catalog", "search", "pipelines", "api"],
  server: ["core", "api", "app"],
  sdk: ["core", "api"],
  cli: ["core", "api", "app", "server"],
};
const all = Object.keys(parts);

const arrowRules = Object.entries(parts).map(([part, allowed]) => {
  const forbidden = all.filter((p) => p !== part && !allowed.includes(p));
  return {
    name: `arrow-${part}`,
    comment: `${part} may import only: ${allowed.join(", ") || "nothing else in src"}`,
    severity: "error",
    from: { path: `^src/${part}/` },
    to: { path: `^src/(${forbidden.join("|") || "$^"})/` },
  };
});

const vendors = [
  ["@mcap|@foxglove/rosbag|@foxglove/rosmsg|@foxglove/wasm-", "formats"],
  ["kysely|^pg$|node_modules/pg/", "catalog"],
  ["better-sqlite3", "(catalog|formats)"],
  ["@lancedb", "search"],
  ["@duckdb", "(pipelines|search)"],
  ["commander", "cli"],
  ["@foxglove/ws-protocol", "(server|pipelines)"],
];
const vendorRules = vendors.map(([lib, home]) => ({
  name: `vendor-${home}-${lib.replace(/[^a-z0-9]/gi, "")}`,
  comment: `${lib} is confined to src/${home}`,
  severity: "error",
  from: { path: "^src/", pathNot: `^src/${home}/` },
  to: { path: `node_modules/(${lib})` },
}));

module.exports = {
  forbidden: [
    ...arrowRules,
    ...vendorRules,
    {
      name: "front-door",
      comment:
        "Import another part only through its index.ts (core/current-bundle.mjs is plain JavaScript for entry files that run before any TypeScript loader)",
      severity: "error",
      from: { path: "^src/([^/]+)/" },
      to: {
        path: "^src/([^/]+)/.+",
        pathNot: ["^src/$1/", "^src/[^/]+/index\\.ts$", "^src/core/current-bundle\\.mjs$"],
      },
    },
    { name: "no-circular", severity: "error", from: {}, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "\\.test\\.ts$" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"] },
  },
};
