/**
 * The one catalogue of error codes. Each code has a default title, a fix sentence (imperative, naming a
 * command or an edit) and the exit code a command returns when this is why it fails.
 */
import type { Severity } from "./issue.js";

interface CodeDef {
  title: string;
  fix: string;
  exit: number;
  severity: Severity;
}

const def = (title: string, fix: string, exit = 1, severity: Severity = "error"): CodeDef => ({ title, fix, exit, severity });

export const CODES = {
  // reading and parsing
  FILE_TOO_LARGE: def("file is larger than the size cap", "Split the file or raise bus.max_file_bytes in consensus.yaml."),
  FILE_EMPTY: def("file is empty", "Write the whole document, to a temporary name first, then rename it into place."),
  FILE_BINARY: def("file holds binary data (a NUL byte)", "Drop a UTF-8 text file (JSON, YAML or Markdown)."),
  FILE_UTF16: def("file is UTF-16; the bus reads UTF-8", "Save it as UTF-8 (`iconv -f UTF-16 -t UTF-8 FILE > FILE.utf8 && mv FILE.utf8 FILE`, or your editor's \"Save with encoding: UTF-8\")."),
  FILE_NOT_UTF8: def("file is not valid UTF-8", "Save the file as UTF-8."),
  FILE_BOM: def("file starts with a byte-order mark; it was ignored", "Save the file as UTF-8 without BOM.", 0, "warning"),
  FILE_UNREADABLE: def("file could not be read", "Check the file's permissions and that it still exists."),
  JSON_SYNTAX: def("file is not valid JSON", "Fix the JSON syntax at the position shown (a linter such as `jq . FILE` points at it)."),
  TRUNCATED: def("the document is cut off before its end", "Write the whole document (output that stopped early?), then drop it again."),
  FENCED: def("the document is wrapped in a Markdown code fence; its content was read", "Write the document alone, without the ``` lines around it.", 0, "warning"),
  FENCED_WITH_TEXT: def("a Markdown code fence with text around it", "Remove the fence lines and the text around them: the file must hold the document alone."),
  LINE_ENDINGS: def("line endings are carriage returns alone (old Mac style)", "Save the file with LF (or CRLF) line endings.", 0, "warning"),
  YAML_SYNTAX: def("file is not valid YAML", "Fix the YAML syntax at the line shown."),
  DUPLICATE_KEY: def("a key appears twice in one object", "Keep one of the two keys."),
  TOO_DEEP: def("document nests too deeply", "Flatten the document; no artifact needs more than 64 levels."),
  TOO_MANY_NODES: def("document expands to too many values (an alias bomb?)", "Remove the YAML aliases (*name) or shrink the document."),
  FORBIDDEN_KEY: def("key is not allowed (prototype pollution guard)", "Rename the key; __proto__, constructor and prototype are never accepted."),
  NOT_AN_OBJECT: def("document is not an object", "Make the top level a mapping (YAML) or an object (JSON)."),
  // schema
  SCHEMA: def("does not match the schema", "Edit the field as shown; `consensus validate FILE` lists every problem at once."),
  PLACEHOLDER: def("a template word was copied instead of a value", "Write the value the template word stands for."),
  LOOKALIKE: def("a character only looks like ASCII", "Retype the value in plain ASCII (letters, digits, - and _)."),
  TIMESTAMP_FAR: def("timestamp is far from the daemon's clock", "Write the time you write the file: `date -u +%Y-%m-%dT%H:%M:%SZ`.", 0, "warning"),
  NORMALISED: def("value was normalised", "Write the value in its canonical form next time.", 0, "warning"),
  UNKNOWN_FIELD: def("field is not part of the schema", "Remove the field or check its spelling.", 0, "warning"),
  // paths and layout
  UNSAFE_PATH: def("path is not allowed", "Use plain names: no '..', no absolute paths, no control characters, no links leaving the root."),
  NOT_REGULAR_FILE: def("not a regular file (a FIFO, device or socket); it is not read", "Remove it (`rm FILE`) and drop a regular file, written to a temporary name first, then renamed into place."),
  HARD_LINK: def("file has more than one name (a hard link, maybe to a file outside the root); it is not read", "Copy the file into place instead of linking it (`cp SOURCE DEST`), then remove the link."),
  NAME_TAKEN: def("the name a placed file or its claim goes to is held by another user's entry; nothing was placed", "Remove the entry as its owner or root (the message names it, its owner and the command), then submit again."),
  SYMLINK_OUTSIDE: def("symbolic link points outside the root", "Copy the file into the folder instead of linking to it."),
  BAD_EPIC_ID: def("epic id is not valid", "Use an id matching ^[A-Za-z][A-Za-z0-9_-]{0,63}$, such as EP-001."),
  BAD_ROLE: def("role name is not valid", "Use a role named in consensus.yaml (roles:)."),
  STRAY_FILE: def("file is where the layout expects nothing; it is not read", "Move it where PROTOCOL §2 puts it (artifacts/<EPIC>/ or messages/inbox/<role>/), or delete it.", 1, "warning"),
  UNKNOWN_ARTIFACT: def("file is not an artifact of any stage", "Name the file after an artifact in consensus.yaml (stages[].artifacts)."),
  EPIC_FOLDER_MISMATCH: def("epic folder and epic_id disagree", "Move the file to artifacts/<epic_id>/ or fix epic_id."),
  AMBIGUOUS_EPIC: def("cannot tell which epic the file belongs to", "Drop it in the per-epic layout: artifacts/<EPIC>/<file>."),
  // pipeline rules
  UNKNOWN_EPIC: def("epic is not known", "Start it with `consensus start EPIC --title T`, or check the epic id."),
  EPIC_EXISTS: def("epic already exists", "Pick another id, or see it with `consensus status EPIC`."),
  EPIC_CLOSED: def("epic is no longer in progress", "See `consensus status EPIC`; an escalated epic needs `consensus override` or `consensus cancel`."),
  WRONG_ITERATION: def("iteration is not the epic's current iteration", "Write the current iteration (see `consensus status EPIC`)."),
  WRONG_STAGE: def("artifact does not belong to the epic's current stage", "Drop it when the epic is at its stage; `consensus status EPIC` shows where it is."),
  STALE_FILE: def("file was written before the epic entered this stage", "Write the file again for the current iteration."),
  WRONG_INBOX: def("message is in another role's inbox", "Move the file to messages/inbox/<to>/ or fix `to`."),
  SELF_MESSAGE: def("message is from a role to itself", "Address the message to another role."),
  UNKNOWN_ROLE: def("role is not configured", "Use a role listed under roles: in consensus.yaml."),
  VETO_NOT_ALLOWED: def("role may not veto at this stage", "Only the roles under the stage's vetoes: in consensus.yaml may veto it."),
  REPLAYED_MESSAGE: def("message id was already used", "Give each message a new id (or omit id to use the content hash)."),
  NOT_ESCALATED: def("epic is not escalated", "override applies to escalated epics; use approve or veto for one in progress."),
  BAD_STAGE: def("stage is not configured", "Use a stage id from consensus.yaml."),
  NOT_IN_MODE: def("artifact belongs to a stage the epic's mode skips", "Drop the artifacts of the stage the epic is at (`consensus status EPIC`)."),
  VETO_STANDS: def("an approval does not withdraw the same role's veto of the same iteration", "Approve in the epic's current iteration, once the rework answers the veto."),
  BAD_MODE: def("mode is not configured", "Use a mode listed under modes: in consensus.yaml, or start without --mode."),
  NON_OVERRIDABLE_VETO: def("veto may not be overridden by a person", "Send the epic back for rework with `consensus override EPIC --to STAGE`; the vetoing role must approve in a later iteration."),
  ROLE_MISMATCH: def("this role may not do that", "Act only for the role this session speaks for: submit your own stage's artifacts (the task tool lists them), or connect a session for the other role."),
  ROLE_REQUIRED: def("no role given for the MCP session", "Pass --role ROLE to `consensus mcp` (or set CONSENSUS_ROLE); over HTTP send the X-Consensus-Role header or ?role=ROLE when the session opens."),
  NO_VERDICT: def("no verdict yet", "The input is placed (or the command queued) and is decided when the daemon gets to it: see `consensus log --epic EPIC` (or the MCP inbox and status tools) before sending it again, or wait longer with --timeout.", 75),
  EPIC_NOT_FINISHED: def("epic is not finished", "Only epics promoted or cancelled can be pruned; see `consensus status EPIC`."),
  REASON_REQUIRED: def("a reason is required", "Pass --reason \"why\"."),
  // config and state
  CONFIG_INVALID: def("consensus.yaml is not valid", "Fix the config as shown; `consensus validate consensus/consensus.yaml` checks it."),
  AGENT_DEFINITION_INVALID: def("agents/*.md front matter is not valid", "Fix the front matter between the --- lines as shown (schema: schemas/agent-definition.schema.json); `consensus agents` checks every file."),
  SECRET_IN_CONFIG: def("a secret is written into consensus.yaml", "Move it to the daemon's environment and pass it to the agent that needs it with agents.<name>.env_allow.", 0, "warning"),
  AGENT_USER_INVALID: def("an agent's user or group cannot be used", "Create the user or group (`useradd`, `groupadd`), or correct agents.<name>.user / group; the daemon must run as root (or with CAP_SETUID and CAP_SETGID) to start agents as another user."),
  NOT_A_BUS: def("not a consensus bus", "Run `consensus init` or pass `--root DIR`.", 2),
  AGENT_NOT_FOUND: def("an agent's program is not found", "Install it or put it on the daemon's PATH, or give its full path in agents.<name>.command.", 0, "warning"),
  AGENT_PROMPT_MISSING: def("an agent's prompt file does not exist", "Run `consensus init` to write the role prompts, or set agents.<name>.prompt.", 0, "warning"),
  CONFIG_MISSING: def("no consensus.yaml in the root", "Run `consensus init` or pass --root DIR."),
  REQUEST_FORGED: def("a request or result in .consensus/requests/ is not sealed with the daemon key; it was not acted on", "Give person commands with the consensus command line (start, override, cancel, prune); if an agent wrote this file, confine its writes to the drop zones (docs/security.md) and delete the file."),
  REQUEST_NOT_YOURS: def("a sealed request names as its author (`by`) an OS user other than the one who owns the request file; it was not acted on", "Give person commands with the consensus command line as yourself: it records the OS user that runs it. If an agent wrote this file, it can read the daemon key: run agents as their own OS users (agents.<role>.user) and delete the file."),
  RULES_FORGED: def("the rules in force (.consensus/rules.json) are not sealed with the daemon key; they were not put in force by `consensus config apply`", "Review consensus/consensus.yaml and run `consensus config apply` (it validates, shows the diff and records who applied it)."),
  PRIVATE_AREA_DENIED: def("this OS user may not read the daemon's private area (.consensus/); nothing there was read, and nothing is wrong with it", "Run the command as the daemon's user (or root); an agent run as its own OS user submits with `consensus submit FILE` (placed and signed; the verdict comes to its inbox or the archive: docs/agents.md) or through the MCP endpoint the daemon serves over HTTP (`consensus watch --mcp-port N`). Never loosen .consensus/'s mode."),
  RULES_MISSING: def("the rules in force (.consensus/rules.json) are missing, though the log records rules applied before", "Review consensus/consensus.yaml and run `consensus config apply` to put it in force again."),
  STATE_CORRUPT: def("state file could not be used", "Nothing to do: it is rebuilt from the decision log.", 0, "warning"),
  LOG_BROKEN: def("decision log hash chain is broken", "Restore the log from a backup; lines from here on were edited or inserted."),
  LOG_LINE_INVALID: def("decision log line is not a valid entry", "Append entries as one complete JSON line each (see PROTOCOL §7)."),
  LOG_ENTRY_MULTILINE: def("a decision log entry is written over several lines", "Write each entry on one line, e.g. `jq -c . entry.json >> current/decision_log.jsonl`."),
  LOG_LINE_FORGED: def("a line claims to be the daemon's but is not in the log of record", "Agents log under their own role name; never copy, edit or re-hash the orchestrator's lines."),
  LOG_WRITE_FAILED: def("the log of record could not be written (disk full?)", "Free space on the file system of .consensus/ (`df -h`); the batch is decided again once the write succeeds."),
  LOG_ADOPT_FAILED: def("the old current/decision_log.jsonl cannot be adopted as the log of record", "Restore current/decision_log.jsonl from a backup, or move it away (`mv current/decision_log.jsonl current/decision_log.old.jsonl`) to start a new log."),
  KEY_MISSING: def("the daemon key is missing", "Run `consensus keys create` (or `consensus init`)."),
  KEY_UNSAFE: def("the daemon key file is not safe to use", "Apply the fix printed with the error (owner, mode, or a symlink in its place)."),
  KEY_MALFORMED: def("the daemon key file is not valid", "Restore the key file from your backup, or move it away and run `consensus keys create`."),
  LEASE_LOST: def("another process took the root over while this one was paused or starved", "Nothing to do for the log: this process stepped down without writing and the other holds the root. Find why it stalled past CONSENSUS_LOCK_STALE_MS (SIGSTOP, a suspended VM or container, swapping) before starting it again.", 1),
  PRIVATE_AREA_UNSAFE: def("the private area (.consensus/) is not the daemon's alone", "Run the command printed with the error (`chmod 700 ROOT/.consensus`); `consensus doctor` checks it."),
  LOCK_HELD: def("another daemon holds the root", "Stop the other daemon, or run commands against it; it already watches this root.", 1),
  DOCTOR_FAILED: def("a preflight check failed", "Apply the fix printed under each failed check, then run `consensus doctor` again.", 4),
  OUTPUT_UNWRITABLE: def("output file could not be written", "Check that the folder exists and is writable, or pass another path."),
  METRICS_PORT_IN_USE: def("the metrics port is in use", "Pick another port with --metrics-port N (0 picks a free one), or stop what holds it (`ss -ltnp` names it)."),
  MCP_PORT_IN_USE: def("the MCP port is in use", "Pick another port with --mcp-port N (0 picks a free one), or stop what holds it (`ss -ltnp` names it)."),
  MCP_LISTEN_FAILED: def("the MCP server could not listen", "Check --mcp-host: it must be an address of this machine (127.0.0.1, ::1, 0.0.0.0); ports below 1024 need privileges."),
  METRICS_LISTEN_FAILED: def("the metrics server could not listen", "Check --metrics-host: it must be an address of this machine (127.0.0.1, ::1, 0.0.0.0); ports below 1024 need privileges."),
  // stores
  STORE_URL_INVALID: def("--store (or CONSENSUS_STORE) is not a store this version knows", "Pass a folder path, or postgres://user@host:5432/database (optionally ?schema=NAME)."),
  STORE_UNREACHABLE: def("the database store could not be reached", "Check that PostgreSQL runs and the URL's host, port, user and database are right (`psql URL -c 'select 1'`)."),
  STORE_MIGRATION_EDITED: def("a schema migration was changed after it was applied to this database", "Restore the migration file as released (reinstall this version of consensus); never edit an applied migration: a schema change is a new numbered file."),
  STORE_MIGRATION_FAILED: def("the database schema could not be brought up to date", "Read the database's error above; the user needs CREATE on the database (or the schema) for the first start and for upgrades."),
  STORE_NOT_EMPTY: def("the target store already holds a log", "Migrate into an empty store: a new database (or ?schema=NAME), or a root made with `consensus init` before its first decision."),
  // authority: proofs and permissions (PROTOCOL "Proofs and permissions")
  PROOF_INVALID: def("the input's signature does not verify", "Submit it with `consensus submit` from the agent's own launch (CONSENSUS_TOKEN), or drop it as a plain file."),
  ROLE_NOT_PROVEN: def("the input speaks for a role its proven author does not run", "Each role writes only as itself: the role's own agent (its own OS user or launch token) must write this."),
  TOKEN_SCOPE: def("the launch token is for another epic or iteration", "Submit from the launch for this epic and iteration; each launch gets its own token."),
  TOKEN_EXPIRED: def("the launch token has expired", "The next launch gets a fresh token (CONSENSUS_TOKEN)."),
  TOKEN_MISSING: def("no launch token", "Run it from an agent the daemon launched (it sets CONSENSUS_TOKEN), or drop the file as a plain file."),
  PROOF_REQUIRED: def("the input is unverified and the config requires proof", "Submit with `consensus submit` or the MCP tools, or run this role as its own user (agents.<role>.user)."),
  NOT_PERMITTED: def("the role may not do this (a permission of consensus.yaml)", "Have an allowed role do it, or change permissions: in consensus.yaml."),
  PERSON_NOT_ALLOWED: def("this OS user may not run this command", "Ask a person listed under security.people in consensus.yaml, or add the user there."),
  NOT_FOUND: def("not found", "Check the name and the --root folder.", 3),
  USAGE: def("command line is not valid", "See `consensus --help`.", 2),
  INTERNAL: def("internal error", "Report this with the log output; nothing was committed for the input in hand.", 70),
} as const satisfies Record<string, CodeDef>;

export type Code = keyof typeof CODES;
