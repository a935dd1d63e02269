import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAgentDefinition, triggersOf } from "../../src/agents/definitions.js";
import { repo } from "../support/bus.js";

describe("agent definitions (agents/*.md front matter)", () => {
  it("the shipped prompts are valid definitions with their role and no triggers", () => {
    const dir = join(repo, "agents");
    for (const f of readdirSync(dir).filter((n) => n.endsWith(".md"))) {
      const d = parseAgentDefinition(f.slice(0, -3), f, readFileSync(join(dir, f), "utf8"));
      expect(d.issues, f).toEqual([]);
      expect(d.def).toMatchObject({ role: f.slice(0, -3), triggers: [] });
    }
  });

  it("reads triggers, for agents that have a command only", () => {
    const d = parseAgentDefinition("fixer", "agents/fixer.md", `---\nname: fixer\ndescription: Looks into vetoes.\nrole: devops\ntriggers:\n  - { on: veto_recorded, stage: deployment, from: devops }\n---\nbody`);
    expect(triggersOf([d], () => true)).toEqual([{ agent: "fixer", role: "devops", on: "veto_recorded", stage: "deployment", from: "devops" }]);
    expect(triggersOf([d], () => false)).toEqual([]);
  });

  it("says what is wrong and where", () => {
    const none = parseAgentDefinition("x", "agents/x.md", "# no front matter\n");
    expect(none.issues[0]).toMatchObject({ code: "AGENT_DEFINITION_INVALID", file: "agents/x.md" });
    const bad = parseAgentDefinition("x", "agents/x.md", `---\nname: x\ndescription: d\ntriggers:\n  - { stage: deployment }\n---\n`);
    expect(bad.issues.length).toBeGreaterThan(0);
    expect(bad.issues[0]!.path).toMatch(/^\/triggers\/0/);
    expect(bad.issues[0]!.file).toBe("agents/x.md");
    // YAML errors are the parser's issues of any document, with the line in the file (front matter starts on line 2)
    const broken = parseAgentDefinition("x", "agents/x.md", `---\nname: x\ndescription: [unclosed\n---\n`);
    expect(broken.issues[0]).toMatchObject({ code: "YAML_SYNTAX", file: "agents/x.md" });
    expect(broken.issues[0]!.line).toBeGreaterThanOrEqual(3);
    // and the same guards: a duplicate key is refused, not silently overwritten
    const twice = parseAgentDefinition("x", "agents/x.md", `---\nname: x\nname: y\ndescription: d\n---\n`);
    expect(twice.issues[0]).toMatchObject({ code: "DUPLICATE_KEY", file: "agents/x.md", line: 3 });
  });
});
