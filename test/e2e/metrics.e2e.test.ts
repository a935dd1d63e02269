import { afterEach, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { Bus, artifact } from "../support/bus.js";
import { parseExposition, valueOf, type Family } from "../support/prom-text.js";

const buses: Bus[] = [];
const hasPrlimit = spawnSync("prlimit", ["--version"]).status === 0;
/** This process's soft limit of open files (the test opens 1,100 sockets itself). */
const ownFdLimit = (): number => Number(/^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"))?.[1] ?? 0);
afterEach(() => {
  for (const b of buses.splice(0)) b.cleanup();
});

const holderOf = (b: Bus) => {
  try {
    return JSON.parse(readFileSync(join(b.root, ".consensus/writer.json"), "utf8")) as { pid: number; metrics?: string };
  } catch {
    return undefined;
  }
};

async function get(url: string, method = "GET"): Promise<{ status: number; type: string | null; body: string }> {
  const r = await fetch(url, { method });
  return { status: r.status, type: r.headers.get("content-type"), body: await r.text() };
}

async function scrape(url: string): Promise<Map<string, Family>> {
  const r = await get(`${url}/metrics`);
  expect(r.status).toBe(200);
  expect(r.type).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(r.body);
}

describe("watch --metrics-port", () => {
  it("serves /health, /ready and /metrics on loopback; counts what the daemon decides", async () => {
    const bus = Bus.init();
    buses.push(bus);
    expect(bus.cli("start", "EP-001", "--title", "Metrics").code).toBe(0);
    bus.startDaemon("--metrics-port", "0", "--log-level", "info");

    // the bound address is in the lock holder's file and in the log, on 127.0.0.1 by default
    const url = await bus.until("the metrics address in writer.json", () => holderOf(bus)?.metrics);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9][0-9]*$/);
    const port = Number(new URL(url).port);
    const line = await bus.until("the metrics listening log line", () => bus.daemonErr.split("\n").find((l) => l.includes('"msg":"metrics listening"')));
    expect(JSON.parse(line)).toMatchObject({ level: 30, host: "127.0.0.1", port, url });

    await bus.until("/ready to be 200", async () => ((await get(`${url}/ready`)).status === 200 ? true : undefined));
    const ready = await get(`${url}/ready`);
    expect(JSON.parse(ready.body)).toMatchObject({ ready: true, failing: [] });
    expect(await get(`${url}/health`)).toMatchObject({ status: 200, body: '{"status":"ok"}\n' });
    expect((await get(`${url}/nope`)).status).toBe(404);
    expect((await get(`${url}/metrics`, "POST")).status).toBe(405);
    expect(await get(`${url}/metrics`, "HEAD")).toMatchObject({ status: 200, body: "" });

    // one invalid drop, then a valid one
    bus.drop("artifacts/EP-001/plan.json", bus.fixture("invalid/plan-task-without-criteria.json"));
    const [rejected] = (await bus.waitForDecision("artifact_rejected")).filter((e) => e.decision === "artifact_rejected");
    const reason = (rejected!.details as { errors: Array<{ code: string }> }).errors[0]!.code;
    bus.drop("artifacts/EP-001/plan.json", artifact("plan.json", "EP-001", 1));
    await bus.waitFor("plan → implementation", (es) => es.some((e) => e.decision === "stage_advanced" && (e.details as { to?: string }).to === "implementation"));

    const artifacts = (outcome: string, why: string, f: Map<string, Family>) => valueOf(f, "consensus_inputs_total", { kind: "artifact", outcome, reason: why });
    const count = (f: Map<string, Family>, name: string, labels: Record<string, string> = {}) => valueOf(f, name, labels, `${name}_count`) ?? 0;
    // the decision is durable before the daemon counts it: wait until the scrape shows both drops
    const f = await bus.until("both drops in /metrics", async () => {
      const f = await scrape(url);
      // … and until the queue has drained (both drops are decided, nothing else is pending)
      return count(f, "consensus_drop_to_decision_seconds") >= 2 && artifacts("accepted", "", f) === 1 && valueOf(f, "consensus_queue_depth") === 0 ? f : undefined;
    });
    expect(artifacts("rejected", reason, f)).toBe(1);
    expect(artifacts("accepted", "", f)).toBe(1);
    expect(f.get("consensus_inputs_total")?.type).toBe("counter");
    for (const h of ["consensus_drop_to_decision_seconds", "consensus_log_append_seconds", "consensus_stage_duration_seconds"]) expect(f.get(h)?.type).toBe("histogram");
    expect(count(f, "consensus_drop_to_decision_seconds")).toBe(2);
    expect(valueOf(f, "consensus_drop_to_decision_seconds", {}, "consensus_drop_to_decision_seconds_sum")).toBeGreaterThan(0);
    expect(count(f, "consensus_log_append_seconds")).toBeGreaterThanOrEqual(2);
    expect(count(f, "consensus_stage_duration_seconds", { stage: "plan" })).toBe(1);
    expect(valueOf(f, "consensus_epics", { stage: "implementation", status: "in_progress" })).toBe(1);
    expect(valueOf(f, "consensus_vetoes_open")).toBe(0);
    expect(valueOf(f, "consensus_queue_depth")).toBe(0);
    expect(valueOf(f, "consensus_seconds_since_last_event")).toBeGreaterThanOrEqual(0);
    const info = f.get("consensus_info")!.samples;
    expect(info).toEqual([{ name: "consensus_info", labels: { version: expect.stringMatching(/^\d+\.\d+\.\d+/), config_version: expect.stringMatching(/^[0-9a-f]{12}$/) }, value: 1 }]);
    // prom-client's process metrics are there too, on the same (own) registry
    expect(f.get("process_resident_memory_bytes")?.type).toBe("gauge");

    // a second daemon asking for the same port stops before it takes its root's lock or watches anything
    const other = Bus.init();
    buses.push(other);
    const clash = other.cli("watch", "--metrics-port", String(port));
    expect(clash.code).toBe(1);
    expect(clash.stderr).toMatch(/METRICS_PORT_IN_USE/);
    expect(clash.stderr).toContain(`127.0.0.1:${port}`);
    expect(clash.stderr).toMatch(/fix: .*--metrics-port/);
    expect(existsSync(join(other.root, ".consensus/writer.json"))).toBe(false);

    expect(await bus.stopDaemon()).toBe(0);
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });

  it.skipIf(!hasPrlimit || ownFdLimit() < 1500)("survives 1,100 idle connections at the default limit of 1,024 descriptors: caps them, closes idle ones, keeps deciding", async () => {
    const bus = Bus.init();
    buses.push(bus);
    bus.daemonWrapper = ["prlimit", "--nofile=1024:1024", "--"];
    bus.cli("start", "EP-001", "--title", "Flooded");
    bus.startDaemon("--metrics-port", "0");
    const url = await bus.until("the metrics address in writer.json", () => holderOf(bus)?.metrics);
    await bus.until("/health", async () => ((await get(`${url}/health`)).status === 200 ? true : undefined));
    const port = Number(new URL(url).port);
    const sockets: Socket[] = [];
    let closed = 0;
    let settled = 0;
    for (let i = 0; i < 1100; i++) {
      const s = connect({ host: "127.0.0.1", port });
      let once = false;
      const settle = () => (once ? undefined : ((once = true), settled++));
      s.on("connect", settle);
      s.on("error", () => {});
      s.on("close", () => (settle(), closed++));
      sockets.push(s);
    }
    try {
      await bus.until("every connection to be accepted or refused", () => settled === 1100, 60_000);
      // while they are held, the daemon still has the files it needs to decide
      bus.drop("artifacts/EP-001/plan.json", artifact("plan.json", "EP-001", 1));
      await bus.waitForDecision("artifact_accepted", 1, undefined);
      // the server closed what it could not serve at once and, later, what stayed idle: every socket ends
      await bus.until("every idle connection to be closed by the daemon", () => closed === 1100, 60_000);
      expect((await get(`${url}/health`)).status).toBe(200);
    } finally {
      for (const s of sockets) s.destroy();
    }
    expect(await bus.stopDaemon()).toBe(0);
  }, 180_000);

  it("refuses a port that is not a port, as a usage error", () => {
    const bus = Bus.init();
    buses.push(bus);
    const r = bus.cli("watch", "--metrics-port", "http");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/0 to 65535/);
  });
});
