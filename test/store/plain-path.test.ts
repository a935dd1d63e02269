/**
 * plainBelow / isNormalAbsolute / joinPlain / joinFast (plain-path.ts) stand in for path.relative and
 * path.join on every folder and file of every effect write and every drop's read (issue 17: the largest
 * allocators of a drop). They may only answer where path's own functions would give the very same
 * string, and must fall back (undefined, false, path.join) everywhere else: a "..", a ".", a doubled or
 * trailing separator, a path not below the root, a root that is a prefix of a longer name ("/r" and
 * "/rx/a").
 */
import { isAbsolute, join, normalize, relative } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isNormalAbsolute, joinFast, joinPlain, plainBelow } from "../../src/store/fs/plain-path.js";

// components that are plain, and the ones path.normalize rewrites
const component = fc.constantFrom("a", "b", "inbox", ".hidden", "..x", "x..", ".", "..", "", "EP-001", "notice-1.yaml", " ");
const pathOf = (parts: string[], trailing: boolean): string => `/${parts.join("/")}${trailing ? "/" : ""}`;
const anyPath = fc.tuple(fc.array(component, { maxLength: 6 }), fc.boolean()).map(([p, t]) => pathOf(p, t));
const plainComponent = component.filter((c) => c !== "" && c !== "." && c !== "..");

describe("plain paths", () => {
  it("plainBelow is path.relative wherever it answers, and answers for plain paths below the root", () => {
    fc.assert(
      fc.property(anyPath, fc.array(component, { maxLength: 5 }), fc.boolean(), (root, tail, below) => {
        const path = below ? `${root}/${tail.join("/")}` : pathOf(tail, false);
        const got = plainBelow(root, path);
        if (got !== undefined) {
          expect(got).toBe(relative(root, path));
          expect(join(root, got)).toBe(path);
        }
        const plain = isNormalAbsolute(root) && tail.length > 0 && tail.every((c) => c !== "" && c !== "." && c !== "..");
        if (below && plain) expect(got).toBe(tail.join("/"));
      }),
      { numRuns: 5000 },
    );
  });

  it("refuses what path.relative would rewrite or what is not below the root", () => {
    expect(plainBelow("/r", "/r")).toBeUndefined();
    expect(plainBelow("/r", "/rx/a")).toBeUndefined();
    expect(plainBelow("/r", "/r/../etc")).toBeUndefined();
    expect(plainBelow("/r", "/r/a/./b")).toBeUndefined();
    expect(plainBelow("/r", "/r//a")).toBeUndefined();
    expect(plainBelow("/r", "/r/a/")).toBeUndefined();
    expect(plainBelow("/r/", "/r/a")).toBeUndefined();
    expect(plainBelow("r", "r/a")).toBeUndefined();
    expect(plainBelow("/r", "/r/a/b")).toBe("a/b");
  });

  it("isNormalAbsolute only where path.normalize leaves the path as it is, and joinPlain is path.join there", () => {
    fc.assert(
      fc.property(anyPath, fc.array(plainComponent, { minLength: 1, maxLength: 4 }), (base, rel) => {
        if (!isNormalAbsolute(base)) return;
        expect(isAbsolute(base)).toBe(true);
        expect(normalize(base)).toBe(base);
        expect(joinPlain(base, rel.join("/"))).toBe(join(base, rel.join("/")));
      }),
      { numRuns: 5000 },
    );
    expect(isNormalAbsolute("/")).toBe(false);
    expect(isNormalAbsolute("/a/")).toBe(false);
    expect(isNormalAbsolute("/a/../b")).toBe(false);
    expect(joinPlain("/", "a")).toBe("/a");
  });

  it("joinFast is path.join for any pair, plain or not", () => {
    const rel = fc.tuple(fc.array(component, { maxLength: 5 }), fc.boolean(), fc.boolean()).map(([p, lead, t]) => `${lead ? "/" : ""}${p.join("/")}${t ? "/" : ""}`);
    const base = fc.oneof(anyPath, anyPath.map((p) => p.slice(1)));
    fc.assert(
      fc.property(base, rel, (b, r) => {
        expect(joinFast(b, r)).toBe(join(b, r));
      }),
      { numRuns: 10000 },
    );
  });
});
