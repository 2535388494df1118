"""PPO fine-tuning from an imitation checkpoint: critic burn-in and a decaying KL toward the start policy."""
