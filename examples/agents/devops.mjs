// DevOps (seed 004): vetoes an implementation with no health check; otherwise drops the deployment
// trio — deployment.json, cicd.yaml, runbook.md — for the current iteration.
import { join } from "node:path";
import { messageName, readJson, runAgent, stamp } from "./lib.mjs";

runAgent("devops", (n, root) => {
  const impl = readJson(join(root, "archive", n.epic_id, String(n.iteration), "implementation.json"));
  const files = (impl?.tasks_completed ?? []).flatMap((t) => [...(t.files_created ?? []), ...(t.files_modified ?? [])]);
  if (!files.some((f) => f.includes("health"))) {
    return [
      {
        name: messageName("veto", "devops", n.epic_id),
        message: {
          from: "devops",
          to: "quality",
          timestamp: stamp(),
          epic_id: n.epic_id,
          iteration: n.iteration,
          type: "veto",
          subject: "not_production_ready",
          content: {
            violation: "Missing critical production requirement",
            specifics: "No health check endpoint defined",
            impact: "Cannot monitor service health",
            requirement: "Implement standardized health check",
            blocking: true,
          },
          action_needed: "add_health_monitoring",
        },
      },
    ];
  }
  const probe = (interval) => ({ endpoint: "/health", interval_seconds: interval, timeout_seconds: 5, failure_threshold: 3 });
  return [
    {
      name: "deployment.json",
      content: {
        epic_id: n.epic_id,
        iteration: n.iteration,
        timestamp: stamp(),
        deployment_strategy: {
          type: "blue_green",
          reason: "instant switch back if the new health probe misbehaves",
          stages: [
            { stage: "dev", automatic: true, tests: ["smoke", "integration"], rollback_automatic: true },
            { stage: "staging", automatic: true, tests: ["smoke", "integration", "performance"], rollback_automatic: true, soak_time_hours: 2 },
            { stage: "production", automatic: false, approval_required: "tech_lead", tests: ["smoke", "synthetic"], rollback_automatic: true },
          ],
        },
        infrastructure: { resources_required: { cpu: "100m", memory: "128Mi", replicas: 2 }, scaling: { min_replicas: 2, max_replicas: 10, target_cpu: 70 } },
        monitoring: {
          metrics: [{ name: "health_check_latency", type: "histogram", unit: "milliseconds", alert_threshold: "> 200ms for 5m" }],
          dashboards: [{ name: "Health Check Performance", panels: ["latency_p99", "error_rate"] }],
          alerts: [{ name: "HealthCheckDown", condition: "up == 0", severity: "critical", action: "page_on_call" }],
        },
        health_checks: { readiness: probe(10), liveness: probe(30) },
        rollback: { triggers: ["Error rate > 1%", "Health check failures > 10%"], procedure: ["Shift traffic back to blue", "Verify health of blue", "Alert the team"], time_to_rollback_seconds: 30 },
      },
    },
    {
      name: "cicd.yaml",
      content: `name: Deploy Epic ${n.epic_id} (iteration ${n.iteration})\non:\n  push:\n    branches: [main]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: pytest tests/ --cov\n  deploy-staging:\n    needs: test\n    runs-on: ubuntu-latest\n    steps:\n      - run: kubectl apply -f k8s/staging/\n      - run: curl -f https://staging.api/health\n`,
    },
    {
      name: "runbook.md",
      content: `# Runbook: Health Check Endpoint (${n.epic_id}, iteration ${n.iteration})\n\n## Service Overview\n- Endpoint: /health — readiness and liveness\n\n## Monitoring\n- Alert: HealthCheckDown (up == 0)\n\n## Common Issues\n### Health check timing out\nScale up replicas or check resource limits.\n\n## Rollback Procedure\n\`\`\`bash\nkubectl rollout undo deployment/api\n\`\`\`\n`,
    },
  ];
});
