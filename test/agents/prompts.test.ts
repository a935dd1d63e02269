/**
 * The prompts in agents/ are part of the product: an LLM copies their examples. Every example must
 * pass the same validation the daemon applies, and every front matter must have the seed-002 fields.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { errorsOf } from "../../src/errors/issue.js";
import { interpretAs, interpretMessage } from "../../src/schemas/interpret.js";
import { repo } from "../support/bus.js";

const dir = join(repo, "agents");
const prompts = readdirSync(dir).filter((f) => f.endsWith(".md"));

function blocks(md: string): Array<{ lang: string; body: string }> {
  const out: Array<{ lang: string; body: string }> = [];
  const re = /^```(\w+)\n([\s\S]*?)^```$/gm;
  for (let m = re.exec(md); m; m = re.exec(md)) out.push({ lang: m[1]!, body: m[2]! });
  return out;
}

describe("agents/*.md", () => {
  it("has one prompt per default role", () => {
    expect(prompts.sort()).toEqual(["developer.md", "devops.md", "planner.md", "quality.md"]);
  });

  for (const file of prompts) {
    const md = readFileSync(join(dir, file), "utf8");
    it(`${file}: front matter has name, description, tools, model and role`, () => {
      const fm = load(/^---\n([\s\S]*?)\n---\n/.exec(md)![1]!) as Record<string, unknown>;
      expect(fm).toMatchObject({ role: file.replace(".md", "") });
      for (const k of ["name", "description", "tools", "model"]) expect(fm[k], k).toBeTruthy();
    });

    it(`${file}: every artifact and message example validates`, () => {
      const checked: string[] = [];
      for (const b of blocks(md)) {
        if (b.lang === "json" && b.body.includes('"epic_id"')) {
          const doc = JSON.parse(b.body) as Record<string, unknown>;
          const kind = "deployment_strategy" in doc ? "deployment" : "tasks_completed" in doc ? "implementation" : "review_status" in doc ? "review" : "stages" in doc ? "plan" : "log-entry";
          const r = interpretAs(kind, "json", new TextEncoder().encode(b.body));
          expect(errorsOf(r.issues), `${kind} example in ${file}`).toEqual([]);
          checked.push(kind);
        } else if (b.lang === "yaml" && /^type: /m.test(b.body) && /^from: /m.test(b.body)) {
          const to = /^to: (\S+)/m.exec(b.body)![1]!;
          const r = interpretMessage("m.yaml", new TextEncoder().encode(b.body), to);
          expect(errorsOf(r.issues), `message example in ${file}`).toEqual([]);
          checked.push("message");
        } else if (b.lang === "yaml" && /^jobs:/m.test(b.body)) {
          expect(errorsOf(interpretAs("cicd", "yaml", new TextEncoder().encode(b.body)).issues)).toEqual([]);
          checked.push("cicd");
        } else if (b.lang === "markdown" || (b.lang === "md" && /## Rollback Procedure/.test(b.body))) {
          expect(errorsOf(interpretAs("runbook", "md", new TextEncoder().encode(b.body)).issues)).toEqual([]);
          checked.push("runbook");
        }
      }
      expect(checked.length, `examples found in ${file}`).toBeGreaterThan(0);
    });
  }
});
