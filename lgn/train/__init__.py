"""Training: datasets, the loop, checkpoints."""
