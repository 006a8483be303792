"""Training data: trajectories, preference pairs, quality gates, mixes."""
