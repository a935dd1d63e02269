/** JSON Pointer → line and column in JSON and YAML text (src/schemas/locate.ts). */
import { describe, expect, it } from "vitest";
import { issue } from "../../src/errors/issue.js";
import { locateIssues, locatorFor, pointerSegments } from "../../src/schemas/locate.js";

describe("pointerSegments", () => {
  it("unescapes ~1 and ~0 and refuses text that is not a pointer", () => {
    expect(pointerSegments("")).toEqual([]);
    expect(pointerSegments("/a~1b/~0c/0")).toEqual(["a/b", "~c", "0"]);
    expect(pointerSegments("a/b")).toBeUndefined();
  });
});

describe("locatorFor", () => {
  const json = '{\n  "a": [\n    1,\n    { "b/c": "x", "d": {} }\n  ],\n  "e": 2\n}\n';
  it("points a field at its key and an item at the item (JSON)", () => {
    const at = locatorFor(json)!;
    expect(at("")).toEqual({ line: 1, column: 1 });
    expect(at("/a")).toEqual({ line: 2, column: 3 });
    expect(at("/a/1")).toEqual({ line: 4, column: 5 });
    expect(at("/a/1/b~1c")).toEqual({ line: 4, column: 7 });
    expect(at("/e")).toEqual({ line: 6, column: 3 });
  });

  it("points a path that does not exist at its deepest existing ancestor", () => {
    const at = locatorFor(json)!;
    expect(at("/a/1/d/missing")).toEqual({ line: 4, column: 19 });
    expect(at("/a/7")).toEqual({ line: 2, column: 3 });
    expect(at("/a/x")).toEqual({ line: 2, column: 3 });
    expect(at("/zzz")).toEqual({ line: 1, column: 1 });
  });

  it("reads YAML block and flow style, CRLF line ends and aliases", () => {
    const yaml = "from: devops\r\ncontent:\r\n  list: [a, b]\r\n  nested:\r\n    - x: 1\r\n      y: &n 2\r\n    - *n\r\n";
    const at = locatorFor(yaml)!;
    expect(at("/content/list/1")).toEqual({ line: 3, column: 13 });
    expect(at("/content/nested/0/y")).toEqual({ line: 6, column: 7 });
    expect(at("/content/nested/1")).toEqual({ line: 7, column: 7 });
    expect(at("/content/nested/1/deeper")).toEqual({ line: 7, column: 7 });
  });

  it("locateIssues leaves issues with a line, or without a path, alone", () => {
    const located = locateIssues(
      [issue("SCHEMA", { path: "/e" }), issue("JSON_SYNTAX", { path: "/e", line: 99 }), issue("FILE_EMPTY")],
      json,
    );
    expect(located.map((i) => i.line)).toEqual([6, 99, undefined]);
    expect(located[0]!.column).toBe(3);
  });
});
