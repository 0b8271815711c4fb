"""Training: models, mixing (Mix2), losses, self-supervision, the training run and its
checkpoint, the model bundle, experiment settings."""
