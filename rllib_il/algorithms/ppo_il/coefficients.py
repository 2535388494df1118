"""PPO_IL's `policy_kl_coeff`: a float or a schedule [[env_steps, value], ...] (RLlib's Scheduler form)."""


def coefficients(fixed_or_schedule) -> list:
    """The values a float or a schedule takes at its points."""
    if isinstance(fixed_or_schedule, (list, tuple)):
        return [value for _, value in fixed_or_schedule]
    return [fixed_or_schedule]


def uses_policy_kl(config) -> bool:
    """Whether the KL toward the start policy is ever on (then pi_0 is kept)."""
    return max(coefficients(config.policy_kl_coeff)) > 0
