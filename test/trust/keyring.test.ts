import { chmod, mkdtemp, readFile, symlink, writeFile, mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { ensureKeyring, keyFileOf, readKeyring, rotateKeyring, KeyFileError } from "../../src/trust/key-file.js";
import { checkTag, macWith } from "../../src/trust/mac.js";

let dir = "";
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});
const fresh = async () => (dir = await mkdtemp(join(tmpdir(), "keys-")));

describe("MACs", () => {
  const key = { id: "k1", secret: Buffer.alloc(32, 7), created_at: "2026-01-01T00:00:00Z" };
  it("verify for their purpose only, and name the key", () => {
    const tag = macWith(key, "log", "body");
    expect(tag).toMatch(/^k1\.[0-9a-f]{64}$/);
    expect(checkTag([key], "log", "body", tag, 0)).toEqual({ ok: true, keyId: "k1" });
    expect(checkTag([key], "notice", "body", tag, 0).ok).toBe(false);
    expect(checkTag([key], "log", "bodY", tag, 0).ok).toBe(false);
    expect(checkTag([key], "log", "body", 42, 0)).toEqual({ ok: false, reason: "no MAC" });
    expect(checkTag([{ ...key, retire_at: "2026-01-02T00:00:00Z" }], "log", "body", tag, Date.parse("2026-01-03T00:00:00Z")).ok).toBe(false);
  });
});

describe("the key file", () => {
  it("is created 0600 in a 0700 folder, and a keyring never prints its secret", async () => {
    const dot = await fresh();
    const { keyring, created } = await ensureKeyring(dot);
    expect(created).toBe(true);
    const text = await readFile(keyFileOf(dot), "utf8");
    const secret = (JSON.parse(text) as { keys: Array<{ secret: string }> }).keys[0]!.secret;
    for (const shown of [JSON.stringify(keyring), inspect(keyring), String(keyring), JSON.stringify({ k: keyring })]) expect(shown).not.toContain(secret);
    expect((await ensureKeyring(dot)).created).toBe(false);
  });

  it("rotation keeps the old key verifying until its retirement", async () => {
    const dot = await fresh();
    let t = Date.parse("2026-01-01T00:00:00Z");
    const now = () => t;
    const { keyring: k1 } = await ensureKeyring(dot, now);
    const tag = k1.mac("log", "x");
    const k2 = await rotateKeyring(dot, 1000, now);
    expect(k2.current.id).not.toBe(k1.current.id);
    expect(k2.check("log", "x", tag).ok).toBe(true);
    t += 1001;
    expect((await readKeyring(dot, now)).check("log", "x", tag).ok).toBe(false);
    const k3 = await rotateKeyring(dot, 1000, now);
    expect(k3.describe()).toHaveLength(2);
  });

  it("quotes the path in a mode fix (a root with a space is one shell word)", async () => {
    const dot = join(await mkdtemp(join(tmpdir(), "keys-")), "my bus", ".consensus");
    await mkdir(dot, { recursive: true });
    await ensureKeyring(dot);
    await chmod(keyFileOf(dot), 0o644);
    await expect(readKeyring(dot)).rejects.toMatchObject({ code: "KEY_UNSAFE", fix: `chmod 600 '${keyFileOf(dot)}'` });
    await chmod(keyFileOf(dot), 0o600);
    await chmod(join(dot, "keys"), 0o755);
    await expect(readKeyring(dot)).rejects.toMatchObject({ code: "KEY_UNSAFE", fix: `chmod 700 '${join(dot, "keys")}'` });
  });

  it("refuses unsafe or malformed files with a fix", async () => {
    const dot = await fresh();
    await ensureKeyring(dot);
    await chmod(keyFileOf(dot), 0o644);
    await expect(readKeyring(dot)).rejects.toMatchObject({ code: "KEY_UNSAFE", fix: expect.stringContaining("chmod 600") });
    await chmod(keyFileOf(dot), 0o600);
    await chmod(join(dot, "keys"), 0o755);
    await expect(readKeyring(dot)).rejects.toMatchObject({ code: "KEY_UNSAFE", fix: expect.stringContaining("chmod 700") });
    const dot2 = await mkdtemp(join(tmpdir(), "keys-"));
    await mkdir(join(dot2, "keys"), { mode: 0o700 });
    await writeFile(join(dot, "elsewhere"), "{}");
    await symlink(join(dot, "elsewhere"), keyFileOf(dot2));
    await expect(readKeyring(dot2)).rejects.toBeInstanceOf(KeyFileError);
    await rm(keyFileOf(dot2));
    await writeFile(keyFileOf(dot2), '{"version":1,"keys":[{"id":"k1","created_at":"2026-01-01T00:00:00Z","secret":"c2hvcnQ="}]}', { mode: 0o600 });
    await expect(readKeyring(dot2)).rejects.toMatchObject({ code: "KEY_MALFORMED" });
    await rm(dot2, { recursive: true });
  });
});
