/**
 * The command table: the one source for every command's arguments, options, summary, exit codes and
 * the environment variables it reads. main.ts builds the parser and `--help` from it, and the command
 * tables in README.md and docs/PROTOCOL.md are generated from it (`npm run gen:docs`; a test keeps
 * them equal). Each command's code is imported only when that command runs, so `status` does not pay
 * for compiling schemas or loading the watcher. Adding a command is one entry here.
 */
import { InvalidArgumentError, Option, type Command } from "commander";
import { durationMs } from "../config/duration.js";
import type { GlobalOptions } from "./context.js";

/** A command's code: the global options, then commander's arguments and options, in order; returns the exit code. */
export type Handler = (g: GlobalOptions, ...args: never[]) => Promise<number>;

/** The environment variables commands read, with what each does (shown by `--help`). */
export const ENVIRONMENT = {
  CONSENSUS_ROOT: "the bus folder, used when --root is not given (default: the nearest bus from the current folder upwards)",
  CONSENSUS_STORE: "where the records live when --store is not given: a folder (default: the root) or postgres://user@host/db[?schema=NAME]",
  CONSENSUS_ROLE: "the role an MCP session speaks for, used when --role is not given (the runner sets it for each agent it launches)",
  CONSENSUS_USER: "the name a person's command records beside the OS user who ran it (as --as does; never instead of it)",
  CONSENSUS_TOKEN: "the launch token the runner gives each agent: `consensus submit` and `consensus mcp` sign what they place with it (never printed or logged)",
  CONSENSUS_NOTICE_KEY: "the role's notice keys the runner gives each agent: `consensus inbox` and the MCP inbox tool check the daemon's MAC on notices with them",
  CONSENSUS_LOG_LEVEL: "the daemon's log level, used when --log-level is not given",
  CONSENSUS_LOCK_STALE_MS: "a writer lock not refreshed for this long is presumed abandoned (default 10000)",
  CONSENSUS_RESCAN_MS: "how often the daemon rescans the bus for anything the watcher missed (default 30000)",
  CONSENSUS_PROC_DIR: "where to read kernel limits from (default /proc)",
} as const;
export type EnvName = keyof typeof ENVIRONMENT;

export interface CommandSpec {
  /** The words after `consensus`: "status", "log verify". */
  name: string;
  /** What it does, in one phrase: `--help` and the docs' table. */
  summary: string;
  /** Its exit codes, as the docs' table says them (usage errors exit 2 everywhere). */
  exit: string;
  /** Environment variables it reads besides CONSENSUS_ROOT. */
  env?: readonly EnvName[];
  /** Its arguments and options. */
  define?: (c: Command) => Command;
  load: () => Promise<Handler>;
}

const formatOption = (choices: string[], dflt = choices[0]!) => new Option("--format <format>", "output format").choices(choices).default(dflt);

/** Person commands that wait for the daemon's verdict: how long, and the way out. */
const waitOptions = (c: Command): Command =>
  c
    .option("--no-wait", "only hand the command over (drop the file); do not wait for the verdict")
    .addOption(new Option("--timeout <duration>", "how long to wait for a running daemon's verdict (30s, 2m …)").argParser(parseDuration).default(60_000, "60s"));

const approveOrVeto = (type: "approve" | "veto"): CommandSpec => ({
  name: type,
  summary: type === "veto" ? "a person's veto, as a message from the role they speak for; waits for the verdict" : "a person's approval, as a message from the role they speak for; waits for the verdict",
  exit: "0 accepted; 1 rejected (the reason is printed); 3 unknown epic; 75 no verdict within --timeout",
  env: ["CONSENSUS_USER", "CONSENSUS_LOCK_STALE_MS"],
  define: (c) => {
    c.argument("<epic>", "epic id")
      .requiredOption("--role <role>", "the role you speak for")
      .requiredOption("--subject <subject>", "what it is about (snake_case)")
      .option("--reason <reason>", "why")
      .option("--to <role>", "whose inbox (default: the owner of the epic's current stage)")
      .option("--as <name>", "your name, recorded beside the OS user who runs the command (default: CONSENSUS_USER)");
    if (type === "veto") c.option("--non-blocking", "a veto that is only logged, not sending the epic back");
    return waitOptions(c);
  },
  load: async () => {
    const { dropMessage } = await import("./commands/message.js");
    return (g: GlobalOptions, epic: string, o: Parameters<typeof dropMessage>[3]) => dropMessage(g, type, epic, o);
  },
});

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: "init",
    summary: "creates the bus (layout, consensus.yaml from a preset, a README) and the role prompts agents/*.md next to it",
    exit: "0; 2 unknown preset",
    define: (c) =>
      c
        .option("--preset <name>", "default (plan → implementation → review → deployment) or full (analyst → architect → tech_lead → developer → quality → devops)", "default")
        .option("--force", "rewrite consensus.yaml, the bus README and the role prompts even if they exist"),
    load: async () => (await import("./commands/init.js")).init,
  },
  {
    name: "start",
    summary: "opens an epic at the first stage (of its mode), iteration 1",
    exit: "0; 1 if it exists or the mode is unknown",
    env: ["CONSENSUS_USER", "CONSENSUS_LOCK_STALE_MS"],
    define: (c) =>
      c
        .argument("<epic>", "epic id, such as EP-001")
        .requiredOption("--title <title>", "short title")
        .option("--file <path>", "Markdown describing the epic (copied to epics/<EPIC>/epic.md)")
        .option("--mode <mode>", "run only the stages of a configured mode (fast_track, hotfix …)"),
    load: async () => (await import("./commands/start.js")).start,
  },
  {
    name: "watch",
    summary: "the daemon: watches the bus, validates, decides, logs, launches agents; SIGTERM/SIGINT finish the batch in hand and release the lock",
    exit: "0; 1 if another daemon holds the bus or the metrics port is in use; non-zero on a fatal error",
    env: ["CONSENSUS_LOG_LEVEL", "CONSENSUS_LOCK_STALE_MS", "CONSENSUS_RESCAN_MS"],
    define: (c) =>
      c
        .option("--once", "handle everything pending, then exit")
        .option("--poll", "poll the file system (network file systems)")
        .addOption(new Option("--log-level <level>", "log level").choices(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).env("CONSENSUS_LOG_LEVEL").default("info"))
        .option("--pretty", "human-readable log lines even when stderr is not a terminal")
        .option("--metrics-port <port>", "serve /health, /ready and /metrics (Prometheus) on this port; 0 picks a free one (off by default)", parsePort)
        .option("--metrics-host <host>", "address to serve them on (default: 127.0.0.1, this machine only)")
        .option("--mcp-port <port>", "also serve MCP over Streamable HTTP at /mcp on this port, one role per session (X-Consensus-Role header or ?role=); 0 picks a free one", parsePort)
        .option("--mcp-host <host>", "address to serve MCP on (default: 127.0.0.1, this machine only)"),
    load: async () => (await import("./commands/watch.js")).watchCommand,
  },
  {
    name: "mcp",
    summary: "serves the bus to one role's agent over MCP (stdio): tools task, validate, submit_artifact, send_message, inbox, status, log; resources schema://, prompt://, archive:// (docs/mcp.md)",
    exit: "0 when the client closes; 2 no role, or one not configured",
    env: ["CONSENSUS_ROLE", "CONSENSUS_TOKEN", "CONSENSUS_NOTICE_KEY"],
    define: (c) =>
      c
        .option("--role <role>", "the role the session speaks for (default: $CONSENSUS_ROLE)")
        .option("--wait-ms <ms>", "how long submit_artifact and send_message wait for the daemon's verdict", parseMs, 30_000),
    load: async () => (await import("./commands/mcp.js")).mcpCommand,
  },
  {
    name: "bridge",
    summary: "with a database store: mirrors this host's artifacts/ and inboxes into the database (whole files, settled, once per content) and the daemons' notices and published artifacts back into the folder",
    exit: "0 on SIGTERM/SIGINT; 2 without a database store",
    env: ["CONSENSUS_LOG_LEVEL"],
    define: (c) =>
      c
        .option("--once", "mirror what is there both ways, then exit")
        .option("--poll", "poll the file system (network file systems)")
        .addOption(new Option("--log-level <level>", "log level").choices(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).env("CONSENSUS_LOG_LEVEL").default("info"))
        .option("--pretty", "human-readable log lines"),
    load: async () => (await import("./commands/bridge.js")).bridgeCommand,
  },
  {
    name: "migrate",
    summary: "moves a root between stores: --from-folder DIR into the --store database, or --to-folder DIR (made by consensus init, no log yet) out of it; the log keeps every line, seq and hash",
    exit: "0; 1 if the target already holds a log",
    define: (c) => c.option("--from-folder <dir>", "a folder root to move into the database").option("--to-folder <dir>", "a folder root (made by consensus init, no log yet) to move the database into"),
    load: async () => (await import("./commands/migrate.js")).migrateCommand,
  },
  {
    name: "status",
    summary: "where each epic stands: stage, status, iteration, who it waits for, open vetoes",
    exit: "0 promoted, 1 escalated/cancelled, 2 in progress, 3 not found (with EPIC; without, 0)",
    define: (c) => c.argument("[epic]", "one epic").option("--json", "machine-readable output"),
    load: async () => (await import("./commands/status.js")).status,
  },
  {
    name: "validate",
    summary: "checks artifacts, messages, config and log against the schemas, every problem at once",
    exit: "0 valid, 1 invalid",
    define: (c) =>
      c
        .argument("[paths...]", "files to check (default: everything under the bus)")
        .option("--strict", "also warn about fields the schema does not know")
        .option("--kind <kind>", "treat every path as this kind (plan, implementation, review, deployment, cicd, runbook, message, config, …)")
        .addOption(new Option("--format <format>", "output format: text, json, github (workflow annotations), junit (test report XML for GitLab, Jenkins, CircleCI), sarif (GitHub code scanning)").choices(["text", "json", "github", "junit", "sarif"]).default("text")),
    load: async () => (await import("./commands/validate.js")).validate,
  },
  {
    name: "gate",
    summary: "the merge gate: passes only when the store answers without doubts, the log verifies, the state is the one the log gives, the epic is promoted (or has reached --require STAGE) and no blocking veto is open; each failed check is named with its fix. Nothing it cannot read lets it pass",
    exit: "0 pass; 3 epic not found; 1 every other reason",
    define: (c) =>
      c
        .argument("<epic>", "epic id, such as EP-001")
        .option("--require <what>", "promoted, or a stage the epic must have reached (such as deployment)", "promoted")
        .addOption(new Option("--format <format>", "output format: text, json, github (workflow annotations)").choices(["text", "json", "github"]).default("text"))
        .option("--require-mac", "where only the committed readable copy of the log is at hand (CI), fail unless its daemon lines' MACs were checked under the daemon key (CONSENSUS_KEY_FILE)"),
    load: async () => (await import("./commands/gate.js")).gate,
  },
  {
    name: "log",
    summary: "reads the decision log (the log of record, .consensus/log.jsonl)",
    exit: "0",
    define: (c) =>
      c
        .option("--epic <epic>", "only this epic")
        .option("--agent <agent>", "only this agent (orchestrator, devops, …)")
        .option("--decision <decision>", "only this decision")
        .option("--follow", "keep printing new entries")
        .option("--json", "print the raw JSON lines"),
    load: async () => (await import("./commands/log.js")).logCommand,
  },
  {
    name: "log verify",
    summary: "checks the log of record's hash chain and MACs, naming the first bad line, and tells the readable copy's sealed, agent and forged lines apart",
    exit: "0 intact (or no log yet), 1 broken, unreadable, or forged lines in the readable copy",
    define: (c) => c.option("--file <file>", "a log file (such as one `log export` wrote) instead of the store's log"),
    load: async () => (await import("./commands/log.js")).verify,
  },
  {
    name: "log export",
    summary: "the log as JSONL in the folder log's shape, to stdout or written atomically to FILE (`log verify --file` checks it)",
    exit: "0",
    define: (c) => c.option("--output <file>", "write it to this file (atomically) instead of stdout"),
    load: async () => (await import("./commands/log.js")).exportLog,
  },
  {
    name: "submit",
    summary: "an agent's artifact or message, signed with its launch token (CONSENSUS_TOKEN) so the daemon knows which role wrote it; waits for the verdict",
    exit: "0 accepted; 1 rejected (the reason is printed); 2 no launch token; 75 no verdict within --timeout, or none this user may await (an agent of its own OS user: placed; docs/agents.md)",
    env: ["CONSENSUS_TOKEN"],
    define: (c) => waitOptions(c.argument("<file>", "the artifact (plan.json …) or message (.yaml/.json) to place").option("--to <role>", "a message's recipient (default: its to field)")),
    load: async () => (await import("./commands/submit.js")).submit,
  },
  {
    name: "inbox",
    summary: "what is addressed to a role: messages with their status, and only genuine daemon notices (a notice whose MAC does not verify is skipped and counted)",
    exit: "0; 2 unknown role",
    env: ["CONSENSUS_NOTICE_KEY"],
    define: (c) => c.argument("<role>", "the role whose inbox to read").option("--epic <epic>", "only this epic").option("--json", "as JSON"),
    load: async () => (await import("./commands/inbox.js")).inbox,
  },
  approveOrVeto("approve"),
  approveOrVeto("veto"),
  {
    name: "override",
    summary: "a person's decision on an escalated epic: resume it (closing its vetoes), logged with their name; waits for the verdict",
    exit: "0 applied; 1 refused (the reason is printed); 75 no verdict within --timeout",
    env: ["CONSENSUS_USER", "CONSENSUS_LOCK_STALE_MS"],
    define: (c) =>
      waitOptions(c.argument("<epic>", "epic id").requiredOption("--reason <reason>", "why (logged with your name)").option("--to <stage>", "stage to resume at, or promoted (default: where it was escalated)").option("--as <name>", "your name, recorded beside the OS user who runs the command (default: CONSENSUS_USER)")),
    load: async () => (await import("./commands/decide.js")).override,
  },
  {
    name: "cancel",
    summary: "a person's decision: cancel an epic, logged with their name; waits for the verdict",
    exit: "0 applied; 1 refused (the reason is printed); 75 no verdict within --timeout",
    env: ["CONSENSUS_USER", "CONSENSUS_LOCK_STALE_MS"],
    define: (c) => waitOptions(c.argument("<epic>", "epic id").requiredOption("--reason <reason>", "why (logged with your name)").option("--as <name>", "your name, recorded beside the OS user who runs the command (default: CONSENSUS_USER)")),
    load: async () => (await import("./commands/decide.js")).cancel,
  },
  {
    name: "doctor",
    summary: "preflight checks: Node, layout, permissions, config, agents, inotify limits, disk, lock, log chain, state.json, clock; each pass/warn/fail with its fix",
    exit: "0 nothing failed (warnings allowed), 4 a check failed",
    env: ["CONSENSUS_LOCK_STALE_MS", "CONSENSUS_PROC_DIR"],
    define: (c) => c.addOption(formatOption(["text", "json"])).option("--poll", "judge for a daemon run with --poll (no inotify watches)"),
    load: async () => (await import("./commands/doctor.js")).doctor,
  },
  {
    name: "graph",
    summary: "the pipeline's state machine as a diagram, read from the machine itself, with each stage's rules",
    exit: "0; 1 if the config is missing or invalid or the mode unknown",
    define: (c) => c.addOption(new Option("--format <format>", "diagram language").choices(["mermaid", "dot"]).default("mermaid")).option("--mode <mode>", "the machine of a mode instead of the whole pipeline"),
    load: async () => (await import("./commands/graph.js")).graph,
  },
  {
    name: "report",
    summary: "the configured rules and where every epic stands and why; --html writes one self-contained page with each epic's timeline",
    exit: "0; 1 if the config is missing or invalid or FILE cannot be written",
    define: (c) => c.option("--html <file>", "write the report as a self-contained HTML page to this file").addOption(formatOption(["text", "json"])),
    load: async () => (await import("./commands/report.js")).report,
  },
  {
    name: "agents",
    summary: "the agents/*.md definitions (name, role, model, triggers), whether a command is configured for each, and whether it can run",
    exit: "0; 1 if a definition is invalid",
    define: (c) => c.addOption(formatOption(["text", "json"])),
    load: async () => (await import("./commands/agents.js")).agentsCommand,
  },
  {
    name: "prune",
    summary: "removes the notices and agent logs of epics promoted or cancelled before a given age (never the log, archives or state), and logs what it removed",
    exit: "0; 1 if an epic could not be pruned",
    env: ["CONSENSUS_USER", "CONSENSUS_LOCK_STALE_MS"],
    define: (c) => c.addOption(new Option("--older-than <duration>", "finished at least this long ago (30d, 12h …)").argParser(parseDuration).default(30 * 86_400_000, "30d")).option("--dry-run", "only list what would be removed"),
    load: async () => (await import("./commands/prune.js")).prune,
  },
  {
    name: "keys",
    summary: "lists the daemon keys (ids and dates; never the keys themselves)",
    exit: "0; 1 no key yet (run `keys create`) or the key file is unsafe",
    load: async () => (await import("./commands/keys.js")).keysList,
  },
  {
    name: "keys create",
    summary: "makes the daemon key (.consensus/keys/daemon.key, 0600) if there is none; prints its id, never the key",
    exit: "0",
    load: async () => (await import("./commands/keys.js")).keysCreate,
  },
  {
    name: "keys rotate",
    summary: "a new daemon key for new seals; the previous keys keep verifying until --retire-after has passed; prints ids, never keys",
    exit: "0; 1 no key to rotate (run `keys create`) or the key file is unsafe",
    define: (c) => c.addOption(new Option("--retire-after <duration>", "how long the previous keys keep verifying (7d, 12h …)").argParser(parseDuration).default(7 * 86_400_000, "7d")),
    load: async () => (await import("./commands/keys.js")).keysRotate,
  },
  {
    name: "config",
    summary: "the rules in force (a sealed copy of consensus.yaml in .consensus/); an edit of consensus.yaml takes effect only by `config apply`. Alone: as `config show`",
    exit: "0; 1 no rules in force yet",
    load: async () => (await import("./commands/config.js")).configShow,
  },
  {
    name: "config show",
    summary: "prints the rules in force, and who applied them when",
    exit: "0; 1 no rules in force yet",
    load: async () => (await import("./commands/config.js")).configShow,
  },
  {
    name: "config diff",
    summary: "consensus.yaml against the rules in force",
    exit: "0 the same; 1 different",
    load: async () => (await import("./commands/config.js")).configDiff,
  },
  {
    name: "config apply",
    summary: "validates consensus.yaml, shows the diff against the rules in force, asks, then puts it in force and logs who applied it (a running daemon applies it; the command waits)",
    exit: "0 applied or already in force; 1 not valid or not confirmed; 2 no terminal to ask and no --yes; 75 not in force within --timeout",
    env: ["CONSENSUS_USER", "CONSENSUS_LOCK_STALE_MS"],
    define: (c) => waitOptions(c.option("--yes", "apply without asking (scripts, CI)")),
    load: async () => (await import("./commands/config.js")).configApply,
  },
];

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || n > 65535) throw new InvalidArgumentError("a port is a whole number from 0 to 65535 (0 picks a free one).");
  return n;
}

function parseMs(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || n < 1) throw new InvalidArgumentError("a duration in milliseconds, a whole number of at least 1.");
  return n;
}

/** A duration as consensus.yaml writes one ("30s", "10m", "2h", "1.5d", or plain milliseconds) → milliseconds. */
export function parseDuration(value: string): number {
  const v = value.trim();
  if (/^[0-9]+$/.test(v)) return Number(v);
  if (!/^[0-9]+(\.[0-9]+)?[smhd]$/.test(v)) throw new InvalidArgumentError("a duration is a number with a unit: 30s, 10m, 2h, 30d (or milliseconds).");
  return durationMs(v);
}
