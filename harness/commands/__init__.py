"""Click commands, one module per feature; harness.cli registers them lazily."""
