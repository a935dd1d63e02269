/**
 * Where in a file a JSON path points: JSON Pointer (RFC 6901) → 1-based line and column, for JSON and
 * YAML text. Pure. The `yaml` package parses both (JSON is YAML 1.2) and keeps every node's source
 * range; js-yaml, which reads the documents, keeps none.
 *
 * A path that does not exist in the document (a missing required field) points at its deepest
 * ancestor that does: the object the field is missing from. A field points at its key, an array item
 * at the item.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import type { Issue } from "../errors/issue.js";

export interface Position {
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units. */
  column: number;
}

/** The segments of a JSON Pointer ("" is the whole document); undefined for text that is not one. */
export function pointerSegments(pointer: string): string[] | undefined {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) return undefined;
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/**
 * A locator for one document's text: parse once, then ask for as many pointers as needed. Answers
 * undefined when the text does not parse as JSON or YAML at all.
 */
export function locatorFor(text: string): ((pointer: string) => Position | undefined) | undefined {
  const lines = new LineCounter();
  let doc;
  try {
    doc = parseDocument(text, { lineCounter: lines, keepSourceTokens: false, uniqueKeys: false, strict: false });
  } catch {
    return undefined;
  }
  const root = doc.contents;
  if (!root) return undefined;
  const at = (offset: number): Position => {
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
  return (pointer) => {
    const segments = pointerSegments(pointer);
    if (!segments) return undefined;
    let node: unknown = root;
    let where = (root as Node).range?.[0];
    for (const seg of segments) {
      if (isAlias(node) || (!isMap(node) && !isSeq(node))) break;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === seg);
        if (!pair) break;
        where = (pair.key as Node).range?.[0] ?? where;
        node = pair.value;
      } else {
        if (!/^(0|[1-9][0-9]*)$/.test(seg)) break;
        const item = node.items[Number(seg)];
        if (item === undefined) break;
        where = (item as Node).range?.[0] ?? where;
        node = item;
      }
    }
    return where === undefined ? undefined : at(where);
  };
}

/**
 * Gives every issue that has a JSON path and no line the line and column its path points at in
 * `text`. Issues that already carry a line (syntax errors, log lines) are left as they are.
 */
export function locateIssues(issues: readonly Issue[], text: string): Issue[] {
  if (!issues.some((i) => i.path !== undefined && i.line === undefined)) return [...issues];
  const locate = locatorFor(text);
  if (!locate) return [...issues];
  return issues.map((i) => {
    if (i.path === undefined || i.line !== undefined) return i;
    const pos = locate(i.path);
    return pos ? { ...i, line: pos.line, column: pos.column } : i;
  });
}
