/**
 * `agents:` and `runner:` of consensus.yaml, resolved: defaults filled in, durations in ms, frozen.
 * The rules a JSON Schema cannot say well (command xor shell) come back as Issues. Pure.
 */
import { issue, type Issue } from "../errors/issue.js";
import type { ConsensusConfig } from "../schemas/types.gen.js";
import { durationMs } from "./duration.js";

export interface AgentSpec {
  readonly name: string;
  /** argv form (no shell) … */
  readonly command?: readonly string[];
  /** … or a command line for /bin/sh -c, only when configured so. */
  readonly shell?: string;
  /** Relative to the folder holding consensus/; "" is that folder. */
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly backoffMs: number;
  /** Relative to the folder holding consensus/. */
  readonly prompt: string;
  /** OS user and group to run as (names or numeric ids, resolved by the runner at launch). */
  readonly user?: string;
  readonly group?: string;
  /** Names (or `PREFIX*`) of the daemon's environment this agent gets: runner.env_allow plus its own. */
  readonly envAllow: readonly string[];
  /** RLIMIT_FSIZE for the agent (bytes). */
  readonly maxOutputBytes: number;
  /** Tasks at once: pids.max of its cgroup, else RLIMIT_NPROC. */
  readonly maxProcesses: number;
}

export interface RunnerSettings {
  readonly maxConcurrent: number;
  readonly killGraceMs: number;
  /** "off": never a cgroup, even where the daemon could make one. */
  readonly cgroup: "auto" | "off";
}

/** `security:`: the agents' group, what is kept out of the logs, and the flood limit of the daemon's log. */
export interface SecuritySettings {
  readonly agentsGroup?: string;
  /** Environment variable names whose values are redacted (besides names that look like secrets). */
  readonly redact: readonly string[];
  /** Per author per minute: decisions with a line in the daemon's log and a notice. */
  readonly floodPerMinute: number;
}

export const DEFAULT_TIMEOUT_MS = 30 * 60_000;
/** What an agent gets of the daemon's environment unless runner.env_allow says otherwise. */
export const DEFAULT_ENV_ALLOW: readonly string[] = Object.freeze(["PATH", "HOME", "LANG", "LC_*", "TERM", "TMPDIR", "TZ", "USER", "LOGNAME"]);
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 ** 3;
export const DEFAULT_MAX_PROCESSES = 512;
export const DEFAULT_FLOOD_PER_MINUTE = 60;

export function checkAgents(c: ConsensusConfig): Issue[] {
  const out: Issue[] = [];
  for (const [name, a] of Object.entries(c.agents ?? {})) {
    const at = `/agents/${name}`;
    if (a.command && a.shell !== undefined) {
      out.push(issue("CONFIG_INVALID", { path: at, message: `agent "${name}" has both command and shell`, expected: "exactly one of command (argv) or shell (a string)", found: "both", fix: `Keep command: [program, arg …] (no shell), or shell: "…" if you need a shell; remove the other.` }));
    } else if (!a.command && a.shell === undefined) {
      out.push(issue("CONFIG_INVALID", { path: at, message: `agent "${name}" has no command`, expected: "command: [program, arg …] or shell: \"…\"", found: "neither", fix: `Add command: [claude, -p, …] under agents.${name} (docs/agents.md has recipes).` }));
    }
    if (a.cwd !== undefined && (a.cwd.startsWith("/") || a.cwd.split(/[\\/]/).includes(".."))) {
      out.push(issue("CONFIG_INVALID", { path: `${at}/cwd`, message: `cwd "${a.cwd}" leaves the project folder`, expected: "a folder relative to the one holding consensus/", found: a.cwd, fix: "Give a relative path without '..'." }));
    }
    if (a.prompt !== undefined && (a.prompt.startsWith("/") || a.prompt.split(/[\\/]/).includes(".."))) {
      out.push(issue("CONFIG_INVALID", { path: `${at}/prompt`, message: `prompt "${a.prompt}" leaves the project folder`, expected: "a path relative to the folder holding consensus/", found: a.prompt, fix: `Use agents/${name}.md or another relative path.` }));
    }
  }
  return out;
}

export function resolveAgents(c: ConsensusConfig): { agents: ReadonlyMap<string, AgentSpec>; runner: RunnerSettings; security: SecuritySettings } {
  const agents = new Map<string, AgentSpec>();
  const r = c.runner ?? {};
  const envAllow = r.env_allow ?? DEFAULT_ENV_ALLOW;
  const group = c.security?.agents_group;
  for (const [name, a] of Object.entries(c.agents ?? {})) {
    agents.set(
      name,
      Object.freeze({
        name,
        ...(a.command ? { command: Object.freeze([...a.command]) } : {}),
        ...(a.shell !== undefined && !a.command ? { shell: a.shell } : {}),
        cwd: a.cwd ?? "",
        env: Object.freeze({ ...(a.env ?? {}) }),
        timeoutMs: a.timeout === undefined ? DEFAULT_TIMEOUT_MS : durationMs(a.timeout),
        retries: a.retries ?? 2,
        backoffMs: a.backoff_ms ?? 1000,
        prompt: a.prompt ?? `agents/${name}.md`,
        ...(a.user !== undefined ? { user: a.user } : {}),
        ...((a.group ?? group) !== undefined ? { group: (a.group ?? group)! } : {}),
        envAllow: Object.freeze([...new Set([...envAllow, ...(a.env_allow ?? [])])]),
        maxOutputBytes: a.max_output_bytes ?? r.max_output_bytes ?? DEFAULT_MAX_OUTPUT_BYTES,
        maxProcesses: a.max_processes ?? r.max_processes ?? DEFAULT_MAX_PROCESSES,
      }),
    );
  }
  return {
    agents,
    runner: Object.freeze({ maxConcurrent: r.max_concurrent ?? 4, killGraceMs: r.kill_grace_ms ?? 5000, cgroup: r.cgroup ?? "auto" }),
    security: Object.freeze({ ...(group !== undefined ? { agentsGroup: group } : {}), redact: Object.freeze([...(c.security?.redact ?? [])]), floodPerMinute: c.security?.flood_per_minute ?? DEFAULT_FLOOD_PER_MINUTE }),
  };
}
