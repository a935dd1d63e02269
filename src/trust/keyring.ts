/**
 * The daemon's keyring: the keys it seals its records with (log lines, checkpoint, requests, notices,
 * launch tokens). A keyring never prints its secrets: JSON.stringify, util.inspect and String() show
 * key ids and dates only, so a keyring passed to a logger or an error by mistake leaks nothing.
 */
import { inspect } from "node:util";
import { checkTag, macWith, type DaemonKey, type MacPurpose, type TagCheck } from "./mac.js";

export class Keyring {
  readonly #keys: readonly DaemonKey[];
  readonly #now: () => number;

  /** keys: oldest first; the last is the current key (the one new tags are made with). */
  constructor(keys: readonly DaemonKey[], now: () => number = Date.now) {
    if (keys.length === 0) throw new Error("a keyring needs at least one key");
    this.#keys = keys;
    this.#now = now;
  }

  /** The key new tags are made with. */
  get current(): Pick<DaemonKey, "id" | "created_at"> {
    const k = this.#keys[this.#keys.length - 1]!;
    return { id: k.id, created_at: k.created_at };
  }

  /** Ids and dates of every key, oldest first (no secrets). */
  describe(): Array<Omit<DaemonKey, "secret">> {
    return this.#keys.map(({ id, created_at, retire_at }) => ({ id, created_at, ...(retire_at ? { retire_at } : {}) }));
  }

  /** Tag `<key id>.<hex>` of data (or of bytes in parts, in order) for a purpose, with the current key. */
  mac(purpose: MacPurpose, data: string | Uint8Array | readonly Uint8Array[]): string {
    return macWith(this.#keys[this.#keys.length - 1]!, purpose, data);
  }

  /** Checks a tag made by any key of the ring that is not retired now. */
  check(purpose: MacPurpose, data: string | Uint8Array, tag: unknown): TagCheck {
    return checkTag(this.#keys, purpose, data, tag, this.#now());
  }

  /** The raw keys, for key-file.ts only (rotation writes them back). */
  keysForFile(): readonly DaemonKey[] {
    return this.#keys;
  }

  toJSON(): unknown {
    return { keys: this.describe() };
  }

  toString(): string {
    return `Keyring(${this.#keys.map((k) => k.id).join(", ")})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
