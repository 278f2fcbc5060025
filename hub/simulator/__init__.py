"""``hub simulate``: realistic partner traffic through every channel, for demos and training."""
