// A tiny scripted agent: waits for the daemon's notices in its role's inbox and answers each request
// by dropping files atomically (temp name + rename), exactly as an LLM agent is told to in agents/*.md.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, linkSync, readFileSync, readdirSync, renameSync, unlinkSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { load, dump } from "js-yaml";

export function dropAtomically(dir, name, text) {
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${name}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, join(dir, name));
}

/**
 * A message's file name that two messages sent in the same second (or by two agents at once) never
 * share: `<type>-<role>-<EPIC>-<UTC time>-<6 random hex digits>.yaml`.
 */
export function messageName(type, role, epic) {
  const time = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return `${type}-${role}-${epic}-${time}-${randomBytes(3).toString("hex")}.yaml`;
}

/**
 * Puts a message in an inbox without ever replacing one: written whole to a dot-temp, then hard-linked
 * to its name (a link fails if the name is taken, where a rename would overwrite), then the temp removed.
 */
export function dropMessage(dir, name, text) {
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  writeFileSync(tmp, text);
  try {
    linkSync(tmp, join(dir, name));
  } finally {
    unlinkSync(tmp);
  }
}

/**
 * Is this notice the daemon's? Its last line is `mac: "<key id>.<hex>"`, the HMAC-SHA-256 of every byte
 * before it under this role's notice key (CONSENSUS_NOTICE_KEY, `<key id>:<hex>,…`, set by the runner).
 * Without a key (started by hand) nothing can be checked: `consensus inbox ROLE` does it for a person.
 */
export function genuine(text) {
  const keys = process.env.CONSENSUS_NOTICE_KEY;
  if (!keys) return true;
  const m = /\nmac: "([a-z0-9]{1,16})\.([0-9a-f]{64})"\n$/.exec(text);
  const key = m && keys.split(",").map((p) => p.trim().split(":")).find(([id]) => id === m[1]);
  if (!key) return false;
  const want = createHmac("sha256", Buffer.from(key[1], "hex")).update(text.slice(0, m.index + 1)).digest();
  return timingSafeEqual(want, Buffer.from(m[2], "hex"));
}

/** The notices `consensus inbox ROLE` lists as genuine (their MAC verifies); an empty set if it cannot answer. */
function genuineNotices(role) {
  const cli = fileURLToPath(new URL("../../bin/consensus.js", import.meta.url));
  const r = spawnSync(process.execPath, [cli, "inbox", role, "--json"], { encoding: "utf8", env: process.env });
  if (r.status !== 0) return new Set();
  return new Set(JSON.parse(r.stdout).items.filter((i) => i.kind === "notice").map((i) => i.file.split("/").pop()));
}

export function readJson(path) {
  return existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : undefined;
}

/**
 * Launched by the daemon's runner (CONSENSUS_NOTICE set): answers that one notice and exits 0.
 * Started by hand (no CONSENSUS_NOTICE): calls handle(notice, root) for every new request notice in
 * the role's inbox until SIGTERM. handle returns the files to drop.
 */
export function runAgent(role, handle) {
  const root = process.env.CONSENSUS_ROOT;
  const answer = (notice) => {
    for (const out of handle(notice, root) ?? []) {
      if (out.message) {
        dropMessage(join(root, "messages", "inbox", out.message.to), out.name, dump(out.message));
      } else {
        dropAtomically(join(root, "artifacts", notice.epic_id), out.name, typeof out.content === "string" ? out.content : `${JSON.stringify(out.content, null, 2)}\n`);
      }
    }
  };
  if (process.env.CONSENSUS_NOTICE) {
    const text = readFileSync(process.env.CONSENSUS_NOTICE, "utf8");
    if (!genuine(text)) {
      console.log(`${role}: ${process.env.CONSENSUS_NOTICE.split("/").pop()} is not a genuine daemon notice; ignored`);
      return;
    }
    const notice = load(text);
    if (notice?.type === "request") answer(notice);
    console.log(`${role}: answered ${process.env.CONSENSUS_NOTICE.split("/").pop()} (launch ${process.env.CONSENSUS_LAUNCH_ID})`);
    return;
  }
  const inbox = join(root, "messages", "inbox", role);
  const seen = new Set();
  const tick = () => {
    if (!existsSync(inbox)) return;
    const fresh = readdirSync(inbox).sort().filter((name) => name.startsWith("notice-") && !seen.has(name));
    // started by hand there is no notice key: `consensus inbox` (which can read the daemon key) says which are genuine
    const listed = fresh.length && !process.env.CONSENSUS_NOTICE_KEY ? genuineNotices(role) : undefined;
    for (const name of fresh) {
      seen.add(name);
      const text = readFileSync(join(inbox, name), "utf8");
      // a forged notice (anyone can write into an inbox): never act on it
      if (listed ? !listed.has(name) : !genuine(text)) {
        console.log(`${role}: ${name} is not a genuine daemon notice; ignored`);
        continue;
      }
      const notice = load(text);
      if (!notice || notice.type !== "request") continue;
      answer(notice);
    }
  };
  const timer = setInterval(tick, 50);
  process.on("SIGTERM", () => {
    clearInterval(timer);
    process.exit(0);
  });
}

export const stamp = () => new Date().toISOString();
