/**
 * The daemon key file: `<root>/.consensus/keys/daemon.key`, in the private area (PROTOCOL "Trust").
 *
 * Format (JSON, version 1): `{"version":1,"keys":[{"id","created_at","secret"(base64, 32 bytes),
 * "retire_at"?}]}`, oldest key first, the last one current. The folder is 0700 and the file 0600, owned
 * by the daemon's user; like sshd's strict modes, a key file or folder that another user could read or
 * write is refused (KEY_UNSAFE) rather than used. Created by `consensus init` (or the first start),
 * rotated by `consensus keys rotate`; never printed.
 */
import { randomBytes } from "node:crypto";
import { constants as fsc } from "node:fs";
import { chmod, lstat, mkdir, open, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { Keyring } from "./keyring.js";
import type { DaemonKey } from "./mac.js";
import { shellArg } from "../errors/issue.js";


/** Refuses to read a key file larger than this (bytes): a planted huge file costs nothing. */
const MAX_KEY_FILE = 64 * 1024;
/** How long a rotated-out key keeps verifying by default (ms): 7 days. */
export const DEFAULT_RETIRE_AFTER_MS = 7 * 24 * 3600 * 1000;

export const keysDirOf = (dot: string): string => join(dot, "keys");
export const keyFileOf = (dot: string): string => join(keysDirOf(dot), "daemon.key");

/** The key file is missing, unreadable, malformed or unsafe; `fix` says what to do. */
export class KeyFileError extends Error {
  constructor(
    readonly code: "KEY_MISSING" | "KEY_UNSAFE" | "KEY_MALFORMED",
    message: string,
    readonly file: string,
    readonly fix: string,
  ) {
    super(message);
  }
}

const newKey = (now: Date): DaemonKey => ({ id: randomBytes(4).toString("hex"), secret: randomBytes(32), created_at: now.toISOString() });

const encode = (keys: readonly DaemonKey[]): string =>
  `${JSON.stringify({ version: 1, keys: keys.map((k) => ({ id: k.id, created_at: k.created_at, secret: Buffer.from(k.secret).toString("base64"), ...(k.retire_at ? { retire_at: k.retire_at } : {}) })) })}\n`;

/** Parses the key file's text; throws KeyFileError(KEY_MALFORMED) naming what is wrong. */
export function parseKeyFile(text: string, file: string): DaemonKey[] {
  const bad = (what: string): never => {
    throw new KeyFileError("KEY_MALFORMED", `${file}: ${what}`, file, "restore the key file from your backup, or move it away and run `consensus keys create` (lines sealed with the lost key then verify as forged)");
  };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return bad("not JSON");
  }
  if (typeof doc !== "object" || doc === null || (doc as { version?: unknown }).version !== 1 || !Array.isArray((doc as { keys?: unknown }).keys)) return bad('expected {"version":1,"keys":[…]}');
  const keys = (doc as { keys: unknown[] }).keys.map((k, i): DaemonKey => {
    if (typeof k !== "object" || k === null) return bad(`keys[${i}] is not an object`);
    const { id, created_at, secret, retire_at } = k as Record<string, unknown>;
    if (typeof id !== "string" || !/^[a-z0-9]{1,16}$/.test(id)) return bad(`keys[${i}].id is not [a-z0-9]{1,16}`);
    if (typeof created_at !== "string" || Number.isNaN(Date.parse(created_at))) return bad(`keys[${i}].created_at is not a date`);
    if (retire_at !== undefined && (typeof retire_at !== "string" || Number.isNaN(Date.parse(retire_at)))) return bad(`keys[${i}].retire_at is not a date`);
    const bytes = typeof secret === "string" ? Buffer.from(secret, "base64") : Buffer.alloc(0);
    if (bytes.length !== 32) return bad(`keys[${i}].secret is not 32 bytes of base64`);
    return { id, created_at, secret: bytes, ...(typeof retire_at === "string" ? { retire_at } : {}) };
  });
  if (keys.length === 0) return bad("no keys");
  return keys;
}

/** Strict modes: the folder and file must be owned by us and closed to group and others. */
async function checkSafe(dir: string, file: string, mode: number, uid: number): Promise<void> {
  const unsafe = (what: string, path: string, fix: string): never => {
    throw new KeyFileError("KEY_UNSAFE", `${path}: ${what}`, path, fix);
  };
  const d = await lstat(dir);
  if (!d.isDirectory()) unsafe("is not a folder (a symlink or file was put in its place)", dir, `remove ${dir} (\`rm ${shellArg(dir)}\`) and run \`consensus keys create\``);
  const me = process.getuid?.();
  // most often a person's command run as another user than the daemon's (sudo): chown would take the key from the daemon
  const notMine = (owner: number): string => `is owned by uid ${owner}, not by this process's uid ${me}`;
  const runAs = (owner: number, path: string): string => `Run the command as the user the daemon runs as, who owns the key (\`sudo -u '#${owner}' consensus …\`); only if this user (uid ${me}) is the daemon's, give it the key: \`chown -R ${me} ${shellArg(path)}\``;
  if (me !== undefined && d.uid !== me) unsafe(notMine(d.uid), dir, runAs(d.uid, dir));
  if ((d.mode & 0o077) !== 0) unsafe(`has mode ${(d.mode & 0o777).toString(8)}; other users could reach the key`, dir, `chmod 700 ${shellArg(dir)}`);
  if (me !== undefined && uid !== me) unsafe(notMine(uid), file, runAs(uid, file));
  if ((mode & 0o077) !== 0) unsafe(`has mode ${(mode & 0o777).toString(8)}; other users could read the key`, file, `chmod 600 ${shellArg(file)}`);
}

/**
 * Reads the keyring. Opens with O_NOFOLLOW, checks the opened file (regular, ≤ 64 KiB, owner, mode)
 * before reading. Throws KeyFileError: KEY_MISSING (no file; `consensus init` or `consensus keys create`
 * makes one), KEY_UNSAFE, KEY_MALFORMED.
 */
export async function readKeyring(dot: string, now: () => number = Date.now): Promise<Keyring> {
  const dir = keysDirOf(dot);
  const file = keyFileOf(dot);
  let fh;
  try {
    fh = await open(file, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new KeyFileError("KEY_MISSING", `${file}: no daemon key`, file, "run `consensus keys create` (or `consensus init`)");
    if (code === "ELOOP") throw new KeyFileError("KEY_UNSAFE", `${file}: is a symlink`, file, `remove ${file}; restore the real key file or run \`consensus keys create\``);
    throw e;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new KeyFileError("KEY_UNSAFE", `${file}: is not a regular file`, file, `remove ${file} and run \`consensus keys create\``);
    if (st.size > MAX_KEY_FILE) throw new KeyFileError("KEY_MALFORMED", `${file}: ${st.size} bytes, more than a key file's ${MAX_KEY_FILE}`, file, `move ${file} away and run \`consensus keys create\``);
    await checkSafe(dir, file, st.mode, st.uid);
    const text = (await fh.readFile({ encoding: "utf8" })).slice(0, MAX_KEY_FILE);
    return new Keyring(parseKeyFile(text, file), now);
  } finally {
    await fh.close();
  }
}

/** Writes the key file atomically: an exclusive 0600 temporary (O_EXCL|O_NOFOLLOW), fsync, rename, fsync of the folder. */
async function writeKeyFile(dot: string, keys: readonly DaemonKey[]): Promise<void> {
  const dir = keysDirOf(dot);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.daemon.key.${randomBytes(8).toString("hex")}.tmp`);
  const fh = await open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
  try {
    await fh.writeFile(encode(keys));
    await fh.chmod(0o600);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fh.close();
  await rename(tmp, keyFileOf(dot));
  const d = await open(dir, "r");
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/**
 * Makes the first key if there is none; returns the keyring either way (`created` says which). The
 * keys folder is created 0700 (chmod'ed, whatever the umask).
 */
export async function ensureKeyring(dot: string, now: () => number = Date.now): Promise<{ keyring: Keyring; created: boolean }> {
  try {
    return { keyring: await readKeyring(dot, now), created: false };
  } catch (e) {
    if (!(e instanceof KeyFileError) || e.code !== "KEY_MISSING") throw e;
  }
  await mkdir(keysDirOf(dot), { recursive: true, mode: 0o700 });
  await chmod(keysDirOf(dot), 0o700);
  await writeKeyFile(dot, [newKey(new Date(now()))]);
  return { keyring: await readKeyring(dot, now), created: true };
}

/**
 * Rotates: a new current key; the previous keys verify until `retire_at` (now + retireAfterMs unless
 * already set earlier); keys whose retirement has passed are dropped. Returns the new keyring.
 */
export async function rotateKeyring(dot: string, retireAfterMs = DEFAULT_RETIRE_AFTER_MS, now: () => number = Date.now): Promise<Keyring> {
  const old = (await readKeyring(dot, now)).keysForFile();
  const t = now();
  const retire = new Date(t + retireAfterMs).toISOString();
  const kept = old
    .filter((k) => k.retire_at === undefined || Date.parse(k.retire_at) > t)
    .map((k) => (k.retire_at !== undefined && Date.parse(k.retire_at) <= Date.parse(retire) ? k : { ...k, retire_at: retire }));
  await writeKeyFile(dot, [...kept, newKey(new Date(t))]);
  return readKeyring(dot, now);
}
