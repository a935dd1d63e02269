// The planner: answers a plan request with plan.json for the health-check epic.
import { runAgent, stamp } from "./lib.mjs";

runAgent("planner", (n) => [
  {
    name: "plan.json",
    content: {
      epic_id: n.epic_id,
      iteration: n.iteration,
      timestamp: stamp(),
      stages: [
        {
          stage_id: "S1",
          name: "Health endpoint",
          tasks: [
            { task_id: "T1", description: "Add GET /health with readiness and liveness", acceptance_criteria: ["returns 200 with {status: ok}", "p99 under 50 ms"], duration_hours: 2, files_to_modify: ["src/api/health.py"] },
            { task_id: "T2", description: "Tests for /health", acceptance_criteria: ["coverage of health.py at least 90%"], dependencies: ["T1"] },
          ],
        },
      ],
      rollback_plan: { trigger_conditions: ["error rate above 1%"], procedure: ["kubectl rollout undo deployment/api"], time_to_rollback: "1m" },
      risks: [{ risk: "probe flaps under load", mitigation: "failure_threshold 3" }],
    },
  },
]);
