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

interface PresetStage { id: string; owner: string; artifacts: string[]; vetoes?: string[]; non_overridable?: string[] }
interface Preset { roles: string[]; stages: PresetStage[] }
const presetDir = join(repo, "presets");
const presets = Object.fromEntries(
  readdirSync(presetDir)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => [f.slice(0, -".yaml".length), load(readFileSync(join(presetDir, f), "utf8")) as Preset]),
);

function blocks(md: string): Array<{ lang: string; body: string }> {
  const out: Array<{ lang: string; body: string }> = [];
  const re = /^```(\w+)\n([\s\S]*?)^```$/gm;
  for (let m = re.exec(md); m; m = re.exec(md)) out.push({ lang: m[1]!, body: m[2]! });
  return out;
}

describe("agents/*.md", () => {
  it("tells an agent of its own OS user what works when the private area refuses it (PRIVATE_AREA_DENIED, submit's 75, its inbox)", () => {
    for (const f of prompts) {
      const md = readFileSync(join(dir, f), "utf8");
      expect(md, f).toContain("PRIVATE_AREA_DENIED");
      expect(md, f).toContain(`consensus/messages/inbox/${f.replace(".md", "")}/`);
      expect(md, f).toMatch(/consensus submit FILE`, which places the file and exits 75/);
    }
  });

  it("has one prompt per role of the shipped presets, and none for a role no preset has", () => {
    expect(Object.keys(presets).sort()).toEqual(["default", "full"]);
    const roles = new Set(Object.values(presets).flatMap((p) => p.roles));
    expect(prompts.map((f) => f.replace(".md", "")).sort()).toEqual([...roles].sort());
    expect(prompts.sort()).toEqual(["analyst.md", "architect.md", "developer.md", "devops.md", "planner.md", "quality.md", "tech_lead.md"]);
  });

  for (const [name, preset] of Object.entries(presets)) {
    it(`presets/${name}.yaml: each stage is named in its owner's and its vetoing roles' prompts`, () => {
      for (const st of preset.stages) {
        for (const role of new Set([st.owner, ...(st.vetoes ?? [])])) {
          const md = readFileSync(join(dir, `${role}.md`), "utf8");
          expect(md, `${role}.md names stage ${st.id}`).toContain(`\`${st.id}\``);
          if (role === st.owner) for (const a of st.artifacts) expect(md, `${role}.md names ${a}`).toContain(a);
        }
      }
    });
  }

  it("presets/full.yaml: the architect's prompt knows layer_violation is non-overridable at review", () => {
    const review = presets.full!.stages.find((s) => s.id === "review")!;
    expect(review.vetoes).toContain("architect");
    expect(review.non_overridable).toContain("layer_violation");
    const md = readFileSync(join(dir, "architect.md"), "utf8");
    expect(md).toMatch(/subject: layer_violation/);
    expect(md.replace(/\s+/g, " ")).toContain("`layer_violation` cannot be overridden by a person");
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
          const kind = "user_stories" in doc ? "requirements" : "layers" in doc && "components" in doc ? "architecture" : "deployment_strategy" in doc ? "deployment" : "tasks_completed" in doc ? "implementation" : "review_status" in doc ? "review" : "stages" in doc ? "plan" : "log-entry";
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

describe("agents/devops.md and the behaviour agree", () => {
  it("the first accepted devops file of a later iteration resolves its veto; the stage needs all three", async () => {
    const { Harness } = await import("../support/pipeline.js");
    const text = readFileSync(join(dir, "devops.md"), "utf8").replace(/\s+/g, " ");
    expect(text).toContain("In a later iteration the first of your three files to be accepted (usually `deployment.json`) resolves your open veto; the stage still completes only when all three are valid.");
    const h = new Harness();
    h.apply({ type: "start", epic_id: "EP-001", title: "t", by: "alice" });
    const approved = { doc: { review_status: "approved", findings: [] } };
    h.artifact("plan.json");
    h.artifact("implementation.json");
    h.artifact("review.json", approved);
    h.veto("devops", "quality", "missing_health_check"); // at deployment, instead of dropping
    expect(h.epic()).toMatchObject({ stage: "implementation", iteration: 2 });
    h.artifact("implementation.json");
    h.artifact("review.json", approved);
    h.log.length = 0;
    h.artifact("deployment.json");
    expect(h.log.map((e) => e.decision)).toEqual(["artifact_accepted", "veto_resolved"]);
    expect(h.epic()).toMatchObject({ stage: "deployment", status: "in_progress", open_vetoes: [] });
  });
});
