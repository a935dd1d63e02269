/**
 * The command table. Each command's code is imported only when that command runs, so `status` does
 * not pay for compiling schemas or loading the watcher. Errors map to exit codes in one place (run()).
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { ConsensusError } from "../errors/issue.js";
import { formatIssuesText } from "./output.js";

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const set = (code: number) => {
    exitCode = code;
  };
  const program = new Command("consensus")
    .description("Orchestrate multi-agent delivery pipelines over a folder of files: validate every drop, drive each epic plan → implementation → review → deployment, log every decision.")
    .option("--root <dir>", "the bus folder (default: $CONSENSUS_ROOT or ./consensus)")
    .option("--store <url>", "where the records live: a folder (default: the root) or postgres://user@host/db[?schema=NAME] (default: $CONSENSUS_STORE)")
    .showHelpAfterError("(run consensus --help for usage)")
    .exitOverride();

  const g = () => program.opts<{ root?: string; store?: string }>();
  const run = (load: () => Promise<(...a: never[]) => Promise<number>>) =>
    async (...args: unknown[]) => {
      const fn = await load();
      set(await (fn as (...a: unknown[]) => Promise<number>)(...args));
    };

  program
    .command("init")
    .description("create the folder layout and a consensus.yaml from a preset")
    .option("--preset <name>", "default (plan → implementation → review → deployment) or full (analyst → architect → tech_lead → developer → quality → devops)", "default")
    .option("--force", "rewrite consensus.yaml even if it exists")
    .action(run(async () => async (o: { force?: boolean; preset: string }) => (await import("./commands/init.js")).init(g(), o)));

  program
    .command("start")
    .description("open an epic at the first stage, iteration 1 (exit 1 if it exists)")
    .argument("<epic>", "epic id, such as EP-001")
    .requiredOption("--title <title>", "short title")
    .option("--file <path>", "Markdown describing the epic (copied to epics/<EPIC>/epic.md)")
    .option("--mode <mode>", "run only the stages of a configured mode (fast_track, hotfix …)")
    .action(run(async () => async (epic: string, o: { title: string; file?: string; mode?: string }) => (await import("./commands/start.js")).start(g(), epic, o)));

  program
    .command("watch")
    .description("run the daemon: watch the bus, validate, decide, log")
    .option("--once", "handle everything pending, then exit")
    .option("--poll", "poll the file system (network file systems)")
    .addOption(new Option("--log-level <level>", "log level").choices(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).env("CONSENSUS_LOG_LEVEL").default("info"))
    .option("--pretty", "human-readable log lines even when stderr is not a terminal")
    .option("--metrics-port <port>", "serve /health, /ready and /metrics (Prometheus) on this port; 0 picks a free one (off by default)", parsePort)
    .option("--metrics-host <host>", "address to serve them on (default: 127.0.0.1, this machine only)")
    .option("--mcp-port <port>", "also serve MCP over Streamable HTTP at /mcp on this port, one role per session (X-Consensus-Role header or ?role=); 0 picks a free one", parsePort)
    .option("--mcp-host <host>", "address to serve MCP on (default: 127.0.0.1, this machine only)")
    .action(run(async () => async (o: import("./commands/watch.js").WatchOptions) => (await import("./commands/watch.js")).watchCommand(g(), o)));

  program
    .command("mcp")
    .description("serve the bus to one role's agent over MCP (stdio): tools task, validate, submit_artifact, send_message, inbox, status, log")
    .option("--role <role>", "the role the session speaks for (default: $CONSENSUS_ROLE)")
    .option("--wait-ms <ms>", "how long submit_artifact and send_message wait for the daemon's verdict", parseMs, 30_000)
    .action(run(async () => async (o: import("./commands/mcp.js").McpOptions) => (await import("./commands/mcp.js")).mcpCommand(g(), o)));

  program
    .command("bridge")
    .description("mirror this host's folder to and from a database store (--store postgres://…): drops up as inputs, notices and published artifacts down")
    .option("--once", "mirror what is there both ways, then exit")
    .option("--poll", "poll the file system (network file systems)")
    .addOption(new Option("--log-level <level>", "log level").choices(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).env("CONSENSUS_LOG_LEVEL").default("info"))
    .option("--pretty", "human-readable log lines")
    .action(run(async () => async (o: { once?: boolean; poll?: boolean; logLevel: string; pretty?: boolean }) => (await import("./commands/bridge.js")).bridgeCommand(g(), o)));

  program
    .command("migrate")
    .description("move a root between stores: --from-folder DIR into the --store database, or --to-folder DIR out of it (the target must hold no log)")
    .option("--from-folder <dir>", "a folder root to move into the database")
    .option("--to-folder <dir>", "a folder root (made by consensus init, no log yet) to move the database into")
    .action(run(async () => async (o: { fromFolder?: string; toFolder?: string }) => (await import("./commands/migrate.js")).migrateCommand(g(), o)));

  program
    .command("status")
    .description("where each epic stands (exit 0 promoted, 1 escalated/cancelled, 2 in progress, 3 not found)")
    .argument("[epic]", "one epic")
    .option("--json", "machine-readable output")
    .action(run(async () => async (epic: string | undefined, o: { json?: boolean }) => (await import("./commands/status.js")).status(g(), epic, o)));

  program
    .command("agents")
    .description("list agents/*.md (name, role, model, triggers) and whether consensus.yaml gives each a command (exit 1 if a definition is invalid)")
    .addOption(new Option("--format <format>", "output format").choices(["text", "json"]).default("text"))
    .action(run(async () => async (o: { format: "text" | "json" }) => (await import("./commands/agents.js")).agentsCommand(g(), o)));

  program
    .command("validate")
    .description("check artifacts, messages, config and log against the schemas (exit 0 valid, 1 invalid)")
    .argument("[paths...]", "files to check (default: everything under the root)")
    .option("--strict", "also warn about fields the schema does not know")
    .option("--kind <kind>", "treat every path as this kind (plan, implementation, review, deployment, cicd, runbook, message, config, …)")
    .addOption(new Option("--format <format>", "output format: text, json, github (workflow annotations), junit (test report XML for GitLab, Jenkins, CircleCI), sarif (GitHub code scanning)").choices(["text", "json", "github", "junit", "sarif"]).default("text"))
    .action(run(async () => async (paths: string[], o: { strict?: boolean; kind?: string; format: import("./commands/validate.js").ValidateFormat }) => (await import("./commands/validate.js")).validate(g(), paths, o)));

  program
    .command("gate")
    .description("the merge gate: exit 0 only when the epic is promoted (or has reached --require STAGE), no blocking veto is open, and the log verifies; 3 if the epic is not known, 1 for every other reason, named")
    .argument("<epic>", "epic id, such as EP-001")
    .option("--require <what>", "promoted, or a stage the epic must have reached (such as deployment)", "promoted")
    .addOption(new Option("--format <format>", "output format: text, json, github (workflow annotations)").choices(["text", "json", "github"]).default("text"))
    .action(run(async () => async (epic: string, o: import("./commands/gate.js").GateOptions) => (await import("./commands/gate.js")).gate(g(), epic, o)));

  const logCmd = program
    .command("log")
    .description("read the decision log")
    .option("--epic <epic>", "only this epic")
    .option("--agent <agent>", "only this agent (orchestrator, devops, …)")
    .option("--decision <decision>", "only this decision")
    .option("--follow", "keep printing new entries")
    .option("--json", "print the raw JSON lines")
    .action(run(async () => async (o: { epic?: string; agent?: string; decision?: string; follow?: boolean; json?: boolean }) => (await import("./commands/log.js")).logCommand(g(), o)));
  logCmd
    .command("verify")
    .description("check the hash chain (exit 0 intact, 1 broken, naming the first bad line)")
    .option("--file <file>", "a log file (such as one `log export` wrote) instead of the store's log")
    .action(run(async () => async (o: { file?: string }) => (await import("./commands/log.js")).verify(g(), o)));
  logCmd
    .command("export")
    .description("the log as JSONL in the file store's shape (log verify --file checks it)")
    .option("--output <file>", "write it to this file (atomically) instead of stdout")
    .action(run(async () => async (o: { output?: string }) => (await import("./commands/log.js")).exportLog(g(), o)));

  for (const type of ["approve", "veto"] as const) {
    program
      .command(type)
      .description(type === "veto" ? "drop a veto message for a person" : "drop an approval message for a person")
      .argument("<epic>", "epic id")
      .requiredOption("--role <role>", "the role you speak for")
      .requiredOption("--subject <subject>", "what it is about (snake_case)")
      .option("--reason <reason>", "why")
      .option("--to <role>", "whose inbox (default: the owner of the epic's current stage)")
      .option("--non-blocking", "a veto that is only logged")
      .action(run(async () => async (epic: string, o: { role: string; subject: string; reason?: string; to?: string; nonBlocking?: boolean }) => (await import("./commands/message.js")).dropMessage(g(), type, epic, o)));
  }

  program
    .command("override")
    .description("a person's decision on an escalated epic: resume it (closing its vetoes)")
    .argument("<epic>", "epic id")
    .requiredOption("--reason <reason>", "why (logged with your name)")
    .option("--to <stage>", "stage to resume at, or promoted (default: where it was escalated)")
    .action(run(async () => async (epic: string, o: { reason: string; to?: string }) => (await import("./commands/decide.js")).override(g(), epic, o)));

  program
    .command("cancel")
    .description("a person's decision: cancel an epic")
    .argument("<epic>", "epic id")
    .requiredOption("--reason <reason>", "why (logged with your name)")
    .action(run(async () => async (epic: string, o: { reason: string }) => (await import("./commands/decide.js")).cancel(g(), epic, o)));

  program
    .command("doctor")
    .description("preflight checks: Node, layout, permissions, config, inotify limits, disk, lock, log chain, clock (exit 0 ready, 4 if a check fails)")
    .addOption(new Option("--format <format>", "output format").choices(["text", "json"]).default("text"))
    .option("--poll", "judge for a daemon run with --poll (no inotify watches)")
    .action(run(async () => async (o: { format: "text" | "json"; poll?: boolean }) => (await import("./commands/doctor.js")).doctor(g(), o)));

  program
    .command("graph")
    .description("the pipeline's state machine as a diagram")
    .addOption(new Option("--format <format>", "diagram language").choices(["mermaid", "dot"]).default("mermaid"))
    .option("--mode <mode>", "the machine of a mode instead of the whole pipeline")
    .action(run(async () => async (o: { format: "mermaid" | "dot"; mode?: string }) => (await import("./commands/graph.js")).graph(g(), o)));

  program
    .command("report")
    .description("the configured rules and where every epic stands; --html writes one self-contained page with each epic's timeline")
    .option("--html <file>", "write the report as a self-contained HTML page to this file")
    .addOption(new Option("--format <format>", "output format").choices(["text", "json"]).default("text"))
    .action(run(async () => async (o: { html?: string; format: "text" | "json" }) => (await import("./commands/report.js")).report(g(), o)));

  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (e) {
    return handleError(e);
  }
}

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

function handleError(e: unknown): number {
  const ce = e as { code?: string; exitCode?: number };
  if (typeof ce.code === "string" && ce.code.startsWith("commander.")) {
    // help and version exit 0; usage errors were already printed by commander
    return ce.code === "commander.helpDisplayed" || ce.code === "commander.version" || ce.code === "commander.help" ? 0 : 2;
  }
  if (e instanceof ConsensusError) {
    process.stderr.write(`${formatIssuesText(e.issues)}\n`);
    return e.exitCode;
  }
  process.stderr.write(`internal error: ${(e as Error)?.stack ?? String(e)}\nThis is a bug; nothing was committed for the command. Report it with the output above.\n`);
  return 70;
}
