"""Training stages, one module each with one public run(config, inputs) -> StageResult."""
