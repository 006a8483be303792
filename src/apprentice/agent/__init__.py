"""The agent: tools, the multi-turn loop, model backends and chat formats."""
