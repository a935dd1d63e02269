/**
 * Secrets in agent commands: what is redacted before an argv or a `shell:` string reaches a log, and
 * what `validate` and `doctor` warn about. Pure: the environments whose values count as secrets come in
 * as arguments.
 *
 * A value is a secret when it is the value of an environment variable (an agent's `env`, or the
 * daemon's own environment) whose name looks like a secret (SECRET_NAME) or is listed in
 * `security.redact`; a literal after a secret-named flag (`--api-key X`, `--token=X`) and well-known
 * token shapes (sk-…, ghp_…, AKIA…) are redacted as well.
 */
import { issue, type Issue } from "../errors/issue.js";
import type { ConsensusConfig } from "../schemas/types.gen.js";

/** Names that look like secrets: a word of the name (split at _ or -) is one of these. */
const SECRET_WORDS = /(^|[_-])(SECRET|SECRETS|TOKEN|TOKENS|PASSWORD|PASSWD|PASS|PASSPHRASE|PWD|APIKEY|KEY|KEYS|CREDENTIAL|CREDENTIALS|AUTH|COOKIE|SESSION|PRIVATE)($|[_-])/i;
/** Token shapes that are secrets wherever they appear (OpenAI/Anthropic, GitHub, Slack, AWS access keys). */
const TOKEN_SHAPES = /\b(sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16})\b/g;
/** A value shorter than this is not redacted by value (it would blank out ordinary words and digits). */
const MIN_SECRET_LENGTH = 4;
export const REDACTED = "[redacted]";

/** Whether an environment variable or flag name looks like it holds a secret ("PWD" alone is the working folder, not a password). */
export function isSecretName(name: string, listed: readonly string[] = []): boolean {
  if (listed.includes(name)) return true;
  const n = name.replace(/^-+/, "");
  return n.toUpperCase() !== "PWD" && SECRET_WORDS.test(n);
}

/** The secret values of some environments: the values of variables named like secrets or listed. */
export function secretValuesOf(envs: ReadonlyArray<Readonly<Record<string, string | undefined>>>, listed: readonly string[] = []): string[] {
  const out = new Set<string>();
  for (const env of envs) for (const [k, v] of Object.entries(env)) if (v !== undefined && v.length >= MIN_SECRET_LENGTH && isSecretName(k, listed)) out.add(v);
  return [...out].sort((a, b) => b.length - a.length);
}

/** A literal is a reference to a variable ($X, ${X}, "$X"): the shell fills it in, the config holds no secret. */
const isReference = (v: string): boolean => /^["']?\$\{?[A-Za-z_]/.test(v);

/** Replaces known secret values and token shapes in one string. */
export function redactText(s: string, secrets: readonly string[]): string {
  let out = s;
  for (const v of secrets) if (out.includes(v)) out = out.split(v).join(REDACTED);
  return out.replace(TOKEN_SHAPES, REDACTED);
}

/** An argv with secrets replaced: known values, token shapes, `--secret-flag=X` and the element after `--secret-flag`. */
export function redactArgv(argv: readonly string[], secrets: readonly string[]): string[] {
  return argv.map((a, i) => {
    const eq = /^(--?[A-Za-z][A-Za-z0-9_-]*)=(.*)$/.exec(a);
    if (eq && isSecretName(eq[1]!) && eq[2] && !isReference(eq[2])) return `${eq[1]}=${REDACTED}`;
    const prev = i > 0 ? argv[i - 1]! : "";
    if (/^--?[A-Za-z][A-Za-z0-9_-]*$/.test(prev) && isSecretName(prev) && !a.startsWith("-") && !isReference(a)) return REDACTED;
    return redactText(a, secrets);
  });
}

/** A `shell:` line with secrets replaced: known values, token shapes, `--secret-flag X`, `--secret-flag=X` and `SECRET_NAME=X`. */
export function redactShell(line: string, secrets: readonly string[], listed: readonly string[] = []): string {
  const flags = line.replace(/(--?[A-Za-z][A-Za-z0-9_-]*)(=|[ \t]+)("[^"]*"|'[^']*'|[^\s;&|]+)/g, (m, flag: string, sep: string, value: string) =>
    isSecretName(flag) && !value.startsWith("-") && !isReference(value) ? `${flag}${sep}${REDACTED}` : m,
  );
  const assigned = flags.replace(/(^|[\s;&|])([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|'[^']*'|[^\s;&|]+)/g, (m, pre: string, name: string, value: string) =>
    isSecretName(name, listed) && !isReference(value) ? `${pre}${name}=${REDACTED}` : m,
  );
  return redactText(assigned, secrets);
}

/**
 * Warnings for `validate` and `doctor`: secrets written into consensus.yaml, which every agent (and
 * anyone who reads the project) can read. They are redacted from the logs, but belong in the daemon's
 * environment, passed to the one agent that needs them with `env_allow`.
 */
export function secretWarnings(c: ConsensusConfig): Issue[] {
  const out: Issue[] = [];
  const listed = c.security?.redact ?? [];
  const warn = (path: string, message: string, name: string, fix: string): void => {
    out.push(issue("SECRET_IN_CONFIG", { path, message, found: name, fix }));
  };
  for (const [agent, a] of Object.entries(c.agents ?? {})) {
    const at = `/agents/${agent}`;
    const move = (name: string): string =>
      `Remove it from consensus.yaml; export ${name} in the daemon's environment (its unit's EnvironmentFile) and add env_allow: [${name}] under agents.${agent}: it is then passed to this agent only and kept out of the logs.`;
    for (const [name, value] of Object.entries(a.env ?? {})) {
      if (isSecretName(name, listed) && value.length > 0 && !isReference(value)) warn(`${at}/env/${name}`, `agents.${agent}.env.${name} holds a secret in consensus.yaml, which agents can read (it is redacted from the logs)`, name, move(name));
    }
    const argv = a.command ?? [];
    const redacted = redactArgv(argv, []);
    redacted.forEach((r, i) => {
      if (r !== argv[i]) warn(`${at}/command/${i}`, `agents.${agent}.command[${i}] looks like a secret written into consensus.yaml (it is redacted from the logs)`, REDACTED, move("THE_SECRET"));
    });
    if (a.shell !== undefined && redactShell(a.shell, [], listed) !== a.shell) {
      warn(`${at}/shell`, `agents.${agent}.shell holds what looks like a secret written into consensus.yaml (it is redacted from the logs)`, REDACTED, `${move("THE_SECRET")} In shell: refer to it as "$THE_SECRET".`);
    }
  }
  return out;
}
