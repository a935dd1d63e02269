// @ts-check
/**
 * The house rules that a tool can keep (STYLE.md, docs/architecture.md):
 *
 * 1. Promises are awaited or handed on (typescript-eslint, type-aware: no-floating-promises,
 *    no-misused-promises): a forgotten one is a write that nobody waits for, or an error nobody sees.
 * 2. Imports point one way. Each room of src/ has a rank; a module may import at run time only from
 *    its own room and rooms of a rank no higher than its own:
 *
 *        errors 0 ← schemas 1 ← config, log 2 ← machine, trust 3 ← store 4 ← engine 5
 *        ← transports, agents 6 ← daemon, runner 7 ← doctor, ops, report 8 ← cli 9
 *
 *    (runner, ops, doctor, report and agents sit beside the room that uses them.) Type-only imports
 *    are free: they cost nothing at run time (today: Logger from daemon/, Prepared from engine/).
 * 3. The pure rooms (errors, schemas, config, machine, log, report; trust where it can be) use no
 *    file system, processes, network, clock or randomness, and import no shell module at run time:
 *    time, sequence numbers and ids come in as arguments. The shell files that live in pure rooms
 *    are named here (reading config, presets and schema files).
 */
import tseslint from "typescript-eslint";

/** Rank of each room of src/ (the first folder under src/). */
const RANK = { errors: 0, schemas: 1, config: 2, log: 2, machine: 3, trust: 3, store: 4, engine: 5, transports: 6, agents: 6, daemon: 7, runner: 7, doctor: 8, ops: 8, report: 3, cli: 9 };
const ROOMS = Object.keys(RANK);
const PURE = ["errors", "schemas", "config", "machine", "log", "report", "trust"];
/** Shell files inside pure rooms: they read the package's or the bus's files. */
const SHELL_IN_PURE = ["src/config/default-config.ts", "src/schemas/read-schemas.ts", "src/trust/key-file.ts", "src/trust/os-identity.ts"];
const SHELL_ROOMS = ROOMS.filter((r) => !PURE.includes(r));

/** Import patterns that reach into a room (from anywhere in src/: "../engine/x.js", "../../engine/x.js"). */
const into = (room) => [`../${room}/**`, `../../${room}/**`, `../../../${room}/**`];

const SIDE_EFFECTS = [
  ...["fs", "fs/promises", "child_process", "net", "http", "https", "dgram", "worker_threads", "cluster", "os", "readline"].flatMap((m) => [m, `node:${m}`]),
  "chokidar",
  "pino",
  "pino-pretty",
  "proper-lockfile",
  "fast-glob",
  "prom-client",
].map((name) => ({ name, message: "A pure room uses no file system, process, network or OS: do it in the shell and pass the result in (STYLE.md)." }));
const RANDOM = ["crypto", "node:crypto"].map((name) => ({ name, importNames: ["randomUUID", "randomBytes", "randomInt", "getRandomValues", "webcrypto"], message: "A pure room takes ids and randomness as arguments." }));

const CLOCK_AND_CHANCE = [
  { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: "A pure room takes the time as an argument (now)." },
  { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: "A pure room takes the time as an argument (now)." },
  { selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']", message: "A pure room takes randomness as an argument." },
  { selector: "MemberExpression[object.name='performance']", message: "A pure room takes the time as an argument." },
  { selector: "MemberExpression[object.name='process']", message: "A pure room reads no environment and no process state: the shell passes them in." },
  { selector: "CallExpression[callee.name=/^(setTimeout|setInterval|setImmediate)$/]", message: "A pure room schedules nothing." },
];

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "bench/results/**", "coverage/**", "src/schemas/*.gen.ts"] },
  {
    files: ["**/*.ts"],
    languageOptions: {
      parser: tseslint.parser,
      // every .ts file is in tsconfig.json (src, test, vitest.config.ts): one project, the one `npm run typecheck` checks
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { "@typescript-eslint": tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      // a control character in a pattern is a mistake unless said so (the terminal-escaping patterns say so)
      "no-control-regex": "error",
    },
  },
  // 2. the direction of imports, room by room
  ...ROOMS.map((room) => ({
    files: [`src/${room}/**/*.ts`],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          patterns: ROOMS.filter((other) => other !== room && RANK[other] > RANK[room]).map((other) => ({
            group: into(other),
            allowTypeImports: true,
            message: `Imports point one way: ${room} (rank ${RANK[room]}) may not depend on ${other} (rank ${RANK[other]}) at run time (eslint.config.js, docs/architecture.md).`,
          })),
        },
      ],
    },
  })),
  // 3. the pure rooms: nothing with side effects, no clock, no chance, no shell module at run time
  ...PURE.map((room) => ({
    files: [`src/${room}/**/*.ts`],
    ignores: SHELL_IN_PURE,
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          paths: [...SIDE_EFFECTS, ...RANDOM],
          patterns: [
            ...ROOMS.filter((other) => other !== room && RANK[other] > RANK[room]).map((other) => ({
              group: into(other),
              allowTypeImports: true,
              message: `Imports point one way: ${room} (rank ${RANK[room]}) may not depend on ${other} (rank ${RANK[other]}) at run time.`,
            })),
            ...SHELL_ROOMS.map((other) => ({ group: into(other), allowTypeImports: true, message: `A pure room imports no shell module (${other}/) at run time.` })),
            { group: SHELL_IN_PURE.map((f) => `**/${f.split("/").pop().replace(/\.ts$/, ".js")}`), allowTypeImports: true, message: "A pure room imports no shell module at run time." },
          ],
        },
      ],
      "no-restricted-syntax": ["error", ...CLOCK_AND_CHANCE],
    },
  })),
);
