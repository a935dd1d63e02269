/** Node's version against package.json's engines.node (">=20.19"). Pure. */
import { fail, pass, warn, type CheckResult } from "../report/check.js";

const parse = (v: string): number[] | undefined => {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)] : undefined;
};

const atLeast = (have: number[], want: number[]): boolean => {
  for (let i = 0; i < 3; i++) if (have[i]! !== want[i]!) return have[i]! > want[i]!;
  return true;
};

export function checkNodeVersion(version: string, engines: string | undefined): CheckResult {
  const id = "node";
  const have = parse(version);
  const m = engines ? /^\s*>=\s*(\S+)\s*$/.exec(engines) : null;
  const want = m ? parse(m[1]!) : undefined;
  if (!have || !want) return warn(id, `Node ${version}; cannot read the required version from engines.node (${engines ?? "absent"})`, "Run with Node 20.19 or newer (`node --version`).", { version, engines });
  if (atLeast(have, want)) return pass(id, `Node ${version} (needs ${engines!.trim()})`, { version, engines });
  return fail(id, `Node ${version} is older than the ${engines!.trim()} this version needs`, `Install Node ${m![1]} or newer (e.g. \`nvm install 20 && nvm use 20\`, or your distribution's nodejs package), then check \`node --version\`.`, { version, engines });
}
