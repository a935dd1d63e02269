// The developer: in iteration 1 ships the route without the health check module (the mistake DevOps
// vetoes); on rework, with the veto in the notice, adds it.
import { runAgent, stamp } from "./lib.mjs";

runAgent("developer", (n) => {
  const vetoed = (n.content.open_vetoes ?? []).some((v) => v.from === "devops");
  return [
    {
      name: "implementation.json",
      content: {
        epic_id: n.epic_id,
        iteration: n.iteration,
        timestamp: stamp(),
        tasks_completed: [
          { task_id: "T1", status: "complete", files_created: vetoed ? ["src/api/health.py"] : [], files_modified: ["src/api/routes.py"], test_results: { tests_written: vetoed ? 6 : 2, tests_passing: vetoed ? 6 : 2, coverage: vetoed ? 94 : 61 } },
          { task_id: "T2", status: "complete" },
        ],
        blockers: [],
        code_metrics: { total_coverage: vetoed ? 91 : 63 },
      },
    },
  ];
});
