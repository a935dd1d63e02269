/**
 * An agent's environment, explicit: the daemon's variables named in its env allowlist
 * (runner.env_allow, default DEFAULT_ENV_ALLOW, plus agents.<name>.env_allow), then its configured
 * `env`, then — for an agent run as another user — that user's HOME, USER and LOGNAME, then the
 * CONSENSUS_* launch variables. Nothing else of the daemon's environment is passed. Pure.
 */

/** Whether a variable name is allowed: an exact name, or a prefix written with a trailing `*`. */
export function allowed(name: string, allow: readonly string[]): boolean {
  return allow.some((a) => (a.endsWith("*") ? name.startsWith(a.slice(0, -1)) : name === a));
}

export function agentEnvironment(o: {
  daemon: Readonly<Record<string, string | undefined>>;
  allow: readonly string[];
  env: Readonly<Record<string, string>>;
  account?: { name?: string; home?: string };
  launch: Readonly<Record<string, string>>;
}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o.daemon)) if (v !== undefined && allowed(k, o.allow)) out[k] = v;
  Object.assign(out, o.env);
  if (o.account?.home) out.HOME = o.account.home;
  if (o.account?.name) out.USER = out.LOGNAME = o.account.name;
  return Object.assign(out, o.launch);
}
