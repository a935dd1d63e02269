/**
 * Issues as JUnit XML, the test report GitLab (artifacts:reports:junit), Jenkins and CircleCI read.
 * Pure: the checked files and their issues in, one XML text out.
 *
 * Shape (the common subset: Jenkins' junit-10.xsd, which test/cli/formats.test.ts validates against,
 * and the elements GitLab documents): `<testsuites>` holds one `<testsuite>` per file (name and `file`
 * = the path); a file without problems has one passing `<testcase name="valid">`; every problem is
 * its own `<testcase>` whose `classname` is the file (GitLab shows it as the suite) and whose `name`
 * says code, JSON path and line — unique within the file, since GitLab keeps only the first of two
 * equal names. An error carries `<failure type="CODE" message="…">` with where, expected/found and the
 * fix; a warning passes, with the same text in `<system-out>`.
 */
import type { Issue } from "../../errors/issue.js";

// XML 1.0 allows tab, newline, carriage return and U+0020 up; lone surrogates are not characters.
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
const xmlText = (s: string): string =>
  s
    .replace(NOT_XML_CHAR, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;");
const xmlAttr = (s: string): string => xmlText(s).replace(/"/g, "&quot;").replace(/\n/g, "&#10;").replace(/\r/g, "&#13;").replace(/\t/g, "&#9;");

const where = (i: Issue): string => `${i.file ?? "-"}${i.line !== undefined ? `:${i.line}${i.column !== undefined ? `:${i.column}` : ""}` : ""}`;

function details(i: Issue): string {
  return [
    where(i),
    ...(i.path !== undefined ? [`path: ${i.path === "" ? "(the document)" : i.path}`] : []),
    i.message,
    ...(i.expected !== undefined || i.found !== undefined ? [`expected: ${i.expected ?? "-"}   found: ${i.found ?? "-"}`] : []),
    `fix: ${i.fix}`,
  ].join("\n");
}

export function formatIssuesJunit(files: readonly string[], issues: readonly Issue[]): string {
  const byFile = new Map<string, Issue[]>(files.map((f) => [f, []]));
  for (const i of issues) {
    const f = i.file ?? "(no file)";
    if (!byFile.has(f)) byFile.set(f, []);
    byFile.get(f)!.push(i);
  }
  let tests = 0;
  let failures = 0;
  const suites: string[] = [];
  for (const [file, list] of byFile) {
    const cases: string[] = [];
    const seen = new Map<string, number>();
    if (list.length === 0) cases.push(`    <testcase classname="${xmlAttr(file)}" name="valid"/>`);
    for (const i of list) {
      const base = `${i.severity === "error" ? "" : "warning "}${i.code} ${i.path ? i.path : "(document)"}${i.line !== undefined ? ` line ${i.line}` : ""}`;
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      const name = n === 1 ? base : `${base} (${n})`;
      const body =
        i.severity === "error"
          ? `<failure type="${xmlAttr(i.code)}" message="${xmlAttr(i.message)}">${xmlText(details(i))}</failure>`
          : `<system-out>${xmlText(`warning [${i.code}] ${details(i)}`)}</system-out>`;
      cases.push(`    <testcase classname="${xmlAttr(file)}" name="${xmlAttr(name)}">\n      ${body}\n    </testcase>`);
    }
    const failed = list.filter((i) => i.severity === "error").length;
    tests += cases.length;
    failures += failed;
    suites.push(`  <testsuite name="${xmlAttr(file)}" file="${xmlAttr(file)}" tests="${cases.length}" failures="${failed}" errors="0" skipped="0">\n${cases.join("\n")}\n  </testsuite>`);
  }
  return [`<?xml version="1.0" encoding="UTF-8"?>`, `<testsuites name="consensus validate" tests="${tests}" failures="${failures}" errors="0">`, ...suites, `</testsuites>`].join("\n");
}
