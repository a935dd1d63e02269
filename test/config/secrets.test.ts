import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG_YAML } from "../../src/config/default-config.js";
import { parseConfig } from "../../src/config/pipeline.js";
import { isSecretName, redactArgv, redactShell, secretValuesOf } from "../../src/config/secrets.js";

describe("secrets", () => {
  it("names that look like secrets: a word of the name, not a part of one", () => {
    for (const n of ["GITHUB_TOKEN", "ANTHROPIC_API_KEY", "OPENAI_APIKEY", "DB_PASSWORD", "DB_PASS", "AWS_SECRET_ACCESS_KEY", "NPM_AUTH", "SSH_PRIVATE_KEY", "--api-key", "--token", "session"]) expect([n, isSecretName(n)]).toEqual([n, true]);
    for (const n of ["PATH", "HOME", "AUTHOR", "KEYBOARD", "MONKEY", "PASSAGE", "PWD", "TOKENIZER_MODEL", "--name"]) expect([n, isSecretName(n)]).toEqual([n, false]);
    expect(isSecretName("VAULT_ADDR", ["VAULT_ADDR"])).toBe(true);
  });

  it("secret values come from variables named like secrets (or listed); short ones are left alone", () => {
    expect(secretValuesOf([{ GITHUB_TOKEN: "ghs-abcdef", PATH: "/usr/bin", PIN_KEY: "12" }, { VAULT_ADDR: "https://vault:8200" }], ["VAULT_ADDR"])).toEqual(["https://vault:8200", "ghs-abcdef"]);
  });

  it("redacts values, flag arguments, assignments and token shapes; leaves references to variables", () => {
    expect(redactArgv(["tool", "--token", "$TOKEN", "--password=${PW}", "--key", "-v", "ghp_0123456789abcdefghijABCD"], [])).toEqual(["tool", "--token", "$TOKEN", "--password=${PW}", "--key", "-v", "[redacted]"]);
    expect(redactShell('API_KEY="abc def" tool --auth \'s3cr3t\' --user "$USER_TOKEN" | tee out', [])).toBe('API_KEY=[redacted] tool --auth [redacted] --user "$USER_TOKEN" | tee out');
  });

  it("validate warns about a secret written into consensus.yaml; the config stays valid", () => {
    const { pipeline, issues } = parseConfig(`${DEFAULT_CONFIG_YAML}\nagents:\n  planner: { command: [tool, --api-key, k-123456], env: { HOME_DIR: /x, SLACK_TOKEN: xoxb-123 } }\n`);
    expect(pipeline).toBeDefined();
    expect(issues.map((i) => [i.severity, i.code, i.path])).toEqual([
      ["warning", "SECRET_IN_CONFIG", "/agents/planner/env/SLACK_TOKEN"],
      ["warning", "SECRET_IN_CONFIG", "/agents/planner/command/2"],
    ]);
    expect(issues[0]!.fix).toMatch(/env_allow: \[SLACK_TOKEN\] under agents\.planner/);
  });
});
