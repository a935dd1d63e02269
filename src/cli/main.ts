/**
 * The parser, built from the command table (commands.ts), and the one place errors become exit codes
 * (run()): a ConsensusError prints its issues and exits with its code, a usage error exits 2, anything
 * else is a bug (70). Output piped into a reader that stops early (`| head`) ends quietly.
 */
import { Command, Help, type Option } from "commander";
import { ConsensusError, issue } from "../errors/issue.js";
import { KeyFileError } from "../trust/key-file.js";
import { COMMANDS, ENVIRONMENT, type CommandSpec } from "./commands.js";
import { ownVersion, type GlobalOptions } from "./context.js";
import { printable } from "../report/plain-text.js";
import { formatIssuesText } from "./output.js";

export async function main(argv: string[]): Promise<number> {
  quietOnBrokenPipe();
  let exitCode = 0;
  const program = buildProgram((spec) => async (...args: unknown[]) => {
    const handler = await spec.load();
    // commander passes the arguments, then the options, then the command itself
    exitCode = await (handler as (g: GlobalOptions, ...a: unknown[]) => Promise<number>)(program.opts<GlobalOptions>(), ...args.slice(0, -1));
  });
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (e) {
    return handleError(e);
  }
}

/**
 * The commander program of the table; `action` makes each command's action (the docs generator and
 * the tests build it without one).
 */
export function buildProgram(action: (spec: CommandSpec) => (...args: unknown[]) => Promise<void> = () => async () => {}): Command {
  const program: Command = new Command("consensus")
    .description("Orchestrate multi-agent delivery pipelines over a folder of files: validate every drop, drive each epic plan → implementation → review → deployment, log every decision.")
    .version(ownVersion(), "-V, --version", "print the version")
    .option("--root <dir>", "the bus folder (default: $CONSENSUS_ROOT, else the nearest bus from the current folder upwards)")
    .option("--store <url>", "where the records live: a folder (default: the root) or postgres://user@host/db[?schema=NAME] (default: $CONSENSUS_STORE)")
    // global options are the program's own (--root, --version), not a parent command's (log's --epic under log verify)
    .configureHelp({ showGlobalOptions: true, visibleGlobalOptions: (): Option[] => new Help().visibleOptions(program).filter((o) => o.long !== "--help") })
    .showHelpAfterError("(run consensus --help for usage)")
    .exitOverride();
  program.addHelpText("after", `\nEnvironment:\n${envHelp(["CONSENSUS_ROOT", "CONSENSUS_STORE"])}\nRun consensus COMMAND --help for a command's options, exit codes and environment.`);
  for (const spec of COMMANDS) {
    const words = spec.name.split(" ");
    let parent = program;
    for (const w of words.slice(0, -1)) parent = parent.commands.find((c) => c.name() === w)!;
    const c = parent.command(words.at(-1)!).description(spec.summary).exitOverride();
    spec.define?.(c);
    c.addHelpText("after", `\nExit status: ${spec.exit}; 2 usage error.\nEnvironment:\n${envHelp(["CONSENSUS_ROOT", "CONSENSUS_STORE", ...(spec.env ?? [])])}`);
    c.action(action(spec));
  }
  return program;
}

function envHelp(names: ReadonlyArray<keyof typeof ENVIRONMENT>): string {
  const width = Math.max(...names.map((n) => n.length));
  return names.map((n) => `  ${n.padEnd(width)}  ${ENVIRONMENT[n]}`).join("\n");
}

/**
 * The command table as Markdown, for README.md and docs/PROTOCOL.md: each command's synopsis (from its
 * real arguments and options), what it does, and its exit codes.
 */
export function commandsMarkdown(program: Command = buildProgram()): string {
  const rows = ["| command | does | exit |", "|---|---|---|"];
  for (const spec of COMMANDS) {
    let c = program;
    for (const w of spec.name.split(" ")) c = c.commands.find((x) => x.name() === w)!;
    const cell = (s: string) => s.replace(/\|/g, "\\|");
    rows.push(`| \`${cell(synopsis(spec.name, c))}\` | ${cell(spec.summary)} | ${cell(spec.exit)} |`);
  }
  return rows.join("\n");
}

/** `consensus start <epic> --title <title> [--file <path>]`: what a person types, from the parser's own definitions. */
export function synopsis(name: string, c: Command): string {
  const parts = [`consensus ${name}`];
  for (const a of c.registeredArguments) parts.push(a.required ? `<${a.name()}${a.variadic ? "..." : ""}>` : `[${a.name()}${a.variadic ? "..." : ""}]`);
  for (const o of new Help().visibleOptions(c)) {
    if (o.long === "--help") continue;
    const value = o.argChoices ? o.argChoices.join("|") : /<[^>]+>/.exec(o.flags)?.[0];
    const text = `${o.long!}${value && (o.required || o.optional) ? ` ${value}` : ""}`;
    parts.push(o.mandatory ? text : `[${text}]`);
  }
  return parts.join(" ");
}

/** stdout or stderr closed by the reader (`consensus log | head`): stop writing and exit 0, no stack trace. */
function quietOnBrokenPipe(): void {
  for (const s of [process.stdout, process.stderr]) {
    s.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE") process.exit(0);
      throw e;
    });
  }
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
  // the daemon key could not be used (e.g. a person's command run as another user than the daemon's): said with its fix, not as a bug
  if (e instanceof KeyFileError) return handleError(new ConsensusError(issue(e.code, { message: e.message, file: e.file, fix: e.fix })));
  process.stderr.write(`internal error: ${printable((e as Error)?.stack ?? String(e), { newlines: true })}\nThis is a bug; nothing was committed for the command. Report it with the output above.\n`);
  return 70;
}
