import { describe, expect, it } from "vitest";
import { classifyPath, type Classified } from "../../../src/transports/files/classify.js";

function invalidIssue(rel: string): Extract<Classified, { kind: "invalid" }>["issue"] {
  const c = classifyPath(rel);
  expect(c.kind).toBe("invalid");
  if (c.kind !== "invalid") throw new Error("unreachable");
  expect(c.issue.fix).not.toBe("");
  expect(c.issue.file).toBe(rel);
  return c.issue;
}

describe("classifyPath: artifacts", () => {
  it("reads a flat drop as an artifact with no folder", () => {
    expect(classifyPath("artifacts/plan.json")).toEqual({ kind: "artifact", rel: "artifacts/plan.json", name: "plan.json" });
  });

  it("reads a per-epic drop as an artifact with its epic folder", () => {
    expect(classifyPath("artifacts/EP-001/runbook.md")).toEqual({ kind: "artifact", rel: "artifacts/EP-001/runbook.md", name: "runbook.md", folder: "EP-001" });
  });

  it("accepts the longest valid epic id (64 characters) as a folder", () => {
    const id = `E${"p".repeat(63)}`;
    expect(classifyPath(`artifacts/${id}/plan.json`)).toMatchObject({ kind: "artifact", folder: id });
  });
});

describe("classifyPath: messages and requests", () => {
  it("reads a .yaml file in a role's inbox as a message to that role", () => {
    expect(classifyPath("messages/inbox/quality/veto-1.yaml")).toEqual({ kind: "message", rel: "messages/inbox/quality/veto-1.yaml", name: "veto-1.yaml", inbox: "quality" });
  });

  it("reads .yml and .json files in an inbox as messages", () => {
    expect(classifyPath("messages/inbox/devops/a.yml")).toMatchObject({ kind: "message", inbox: "devops" });
    expect(classifyPath("messages/inbox/devops/a.json")).toMatchObject({ kind: "message", inbox: "devops" });
  });

  it("reads a .json file in .consensus/requests as a request named by its id", () => {
    expect(classifyPath(".consensus/requests/r-42.json")).toEqual({ kind: "request", rel: ".consensus/requests/r-42.json", id: "r-42" });
  });

  it("does not read a request's own result file as a request", () => {
    expect(classifyPath(".consensus/requests/r-42.result.json").kind).toBe("ignored");
  });
});

describe("classifyPath: ignored names", () => {
  for (const rel of [
    "artifacts/.plan.json.tmp",
    "artifacts/plan.json.tmp",
    "artifacts/plan.json.swp",
    "artifacts/plan.json~",
    "artifacts/.hidden",
    "artifacts/EP-001/.plan.json.tmp",
    "artifacts/.EP-001/plan.json",
    "messages/inbox/quality/.veto.yaml.tmp",
    "messages/inbox/quality/veto.yaml~",
    ".consensus/requests/.r1.json.tmp",
    // editors' and tools' temporaries: sed -i, vim's write probe and swap files, Emacs, JetBrains
    "messages/inbox/quality/sedAb12Cd",
    "messages/inbox/quality/4913",
    "messages/inbox/quality/veto.yaml.swo",
    "artifacts/EP-001/#plan.json#",
    "artifacts/EP-001/plan.json___jb_tmp___",
    "artifacts/EP-001/plan.json.part",
  ]) {
    it(`ignores ${rel} (dot-file, temporary or editor file)`, () => {
      expect(classifyPath(rel).kind).toBe("ignored");
    });
  }

  it("ignores the daemon's own notice-… files in an inbox", () => {
    expect(classifyPath("messages/inbox/planner/notice-EP-001-plan-1.yaml")).toMatchObject({ kind: "ignored", reason: expect.stringMatching(/notice/) as unknown });
  });

  it("ignores files outside the watched locations", () => {
    expect(classifyPath("epics/EP-001/epic.md").kind).toBe("ignored");
    expect(classifyPath("current/state.json").kind).toBe("ignored");
    expect(classifyPath("archive/EP-001/1/plan.json").kind).toBe("ignored");
  });
});

describe("classifyPath: hostile and malformed paths are invalid", () => {
  it("refuses a path that climbs out with ../", () => {
    expect(invalidIssue("../artifacts/plan.json").code).toBe("UNSAFE_PATH");
    expect(invalidIssue("artifacts/../../etc/passwd").code).toBe("UNSAFE_PATH");
    expect(invalidIssue("messages/inbox/../../artifacts/plan.json").code).toBe("UNSAFE_PATH");
  });

  it("refuses an absolute path (POSIX and a Windows drive)", () => {
    expect(invalidIssue("/etc/passwd").message).toMatch(/absolute/);
    expect(invalidIssue("C:/consensus/artifacts/plan.json").message).toMatch(/absolute/);
  });

  it("refuses empty and '.' segments", () => {
    expect(invalidIssue("artifacts//plan.json").code).toBe("UNSAFE_PATH");
    expect(invalidIssue("artifacts/./plan.json").code).toBe("UNSAFE_PATH");
  });

  for (const [label, ch] of [["newline", "\n"], ["NUL", "\u0000"], ["escape", "\u001b"], ["DEL", "\u007f"]] as const) {
    it(`refuses a ${label} in an epic folder name`, () => {
      const i = invalidIssue(`artifacts/EP${ch}001/plan.json`);
      expect(i.code).toBe("UNSAFE_PATH");
      expect(i.message).toMatch(/control character/);
      // what is shown of the name is escaped, never the raw C0 control character (JSON escapes those)
      if (ch !== "\u007f") expect(i.found).not.toContain(ch);
    });

    it(`refuses a ${label} in an artifact file name`, () => {
      expect(invalidIssue(`artifacts/EP-001/plan${ch}.json`).code).toBe("UNSAFE_PATH");
      expect(invalidIssue(`artifacts/plan${ch}.json`).code).toBe("UNSAFE_PATH");
    });

    it(`refuses a ${label} in an inbox or message file name`, () => {
      expect(invalidIssue(`messages/inbox/qual${ch}ity/m.yaml`).code).toBe("UNSAFE_PATH");
      expect(invalidIssue(`messages/inbox/quality/m${ch}.yaml`).code).toBe("UNSAFE_PATH");
    });
  }

  it("refuses a control character even in a name that would otherwise be ignored", () => {
    expect(invalidIssue("artifacts/.plan\n.json.tmp").code).toBe("UNSAFE_PATH");
  });

  it("names a look-alike character in an epic folder by its code point and suggests the ASCII id", () => {
    const i = invalidIssue("artifacts/\u0415P-001/plan.json");
    expect(i.code).toBe("LOOKALIKE");
    expect(i.message).toContain("U+0415");
    expect(i.expected).toBe("EP-001");
    expect(invalidIssue("artifacts/ÉP-001/plan.json").expected).toBe("EP-001");
  });

  for (const folder of ["1EP", "EP 001", "EP.001", `E${"p".repeat(64)}`, "-EP"]) {
    it(`refuses the epic folder ${JSON.stringify(folder)}, which is not a valid id, as BAD_EPIC_ID`, () => {
      const i = invalidIssue(`artifacts/${folder}/plan.json`);
      expect(i.code).toBe("BAD_EPIC_ID");
      expect(i.found).toBe(folder);
    });
  }


  it("refuses a message file with a wrong extension, saying which extensions work", () => {
    for (const name of ["veto.txt", "veto.md", "veto.yaml.bak", "veto"]) {
      const i = invalidIssue(`messages/inbox/quality/${name}`);
      expect(i.code).toBe("UNSAFE_PATH");
      expect(i.fix).toMatch(/\.yaml/);
    }
  });


  it("refuses an inbox folder that is not a valid role name as BAD_ROLE", () => {
    expect(invalidIssue("messages/inbox/9lives/m.yaml").code).toBe("BAD_ROLE");
  });
});

describe("classifyPath: strays (files where the layout expects nothing)", () => {
  const strayOf = (rel: string) => {
    const c = classifyPath(rel);
    expect(c.kind, rel).toBe("stray");
    return c as Extract<Classified, { kind: "stray" }>;
  };

  it("a veto one folder off: messages/developer/ (no inbox/) and messages/inbox/ (no role folder)", () => {
    expect(strayOf("messages/developer/veto.yaml").suggest).toBe("messages/inbox/developer/veto.yaml");
    expect(strayOf("messages/inbox/veto.yaml").suggest).toBeUndefined(); // the file's `to` says which inbox (decide-stray)
  });

  it("a plan at the root, or under a second consensus/ folder", () => {
    expect(strayOf("plan.json").reason).toMatch(/root/);
    expect(strayOf("consensus/artifacts/EP-001/plan.json").suggest).toBe("artifacts/EP-001/plan.json");
    expect(strayOf("consensus/messages/inbox/quality/veto.yaml").suggest).toBe("messages/inbox/quality/veto.yaml");
  });

  it("drops nested too deep, and files beside an epic's epic.md", () => {
    expect(strayOf("artifacts/EP-001/sub/plan.json").suggest).toBe("artifacts/EP-001/plan.json");
    expect(strayOf("messages/inbox/quality/sub/m.yaml").suggest).toBe("messages/inbox/quality/m.yaml");
    expect(strayOf("epics/EP-001/plan.json").suggest).toBe("artifacts/EP-001/plan.json");
  });

  it("the layout's own files, the daemon's folders and the private area are never strays", () => {
    for (const rel of ["consensus.yaml", "README.md", ".gitignore", "epics/EP-001/epic.md", "current/decision_log.jsonl", "current/anything.json", "archive/EP-001/1/plan.json", "logs/agents/EP-001/1/developer-1.log", ".consensus/checkpoint.json", ".consensus/log.jsonl"]) {
      expect(classifyPath(rel).kind, rel).toBe("ignored");
    }
  });
});
