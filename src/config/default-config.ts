/** The consensus.yaml that `consensus init` writes: the four-stage default pipeline, commented. */
export const DEFAULT_CONFIG_YAML = `# consensus.yaml: the pipeline as data (schema: schemas/config.schema.json).
# The daemon reads this at start; \`consensus validate consensus/consensus.yaml\` checks it.
version: 1

# An epic whose iteration would go above this is escalated to a person.
max_iterations: 3

roles: [planner, developer, quality, devops]

# Stages in order. Each completes when all its artifacts are valid for the current iteration
# (and, where approvers are named, when all of them have approved this iteration).
stages:
  - id: plan
    owner: planner
    artifacts: [plan.json]
  - id: implementation
    owner: developer
    artifacts: [implementation.json]
    vetoes: [developer]          # the developer may send an unworkable plan back
  - id: review
    owner: quality
    artifacts: [review.json]     # review_status other than approved is quality's veto
    vetoes: [quality, devops]
  - id: deployment
    owner: devops
    artifacts: [deployment.json, cicd.yaml, runbook.md]
    vetoes: [devops, quality]

# Where a blocking veto from each role sends the epic back (iteration + 1).
veto_routes:
  developer: plan
  quality: implementation
  devops: implementation

bus:
  settle_ms: 500                 # a file that does not parse must stay unchanged this long before it is rejected
  max_file_bytes: 1048576        # larger files are rejected unread
`;
