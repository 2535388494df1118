"""Columns every replayed row carries beside RLlib's (obs, next obs, action, reward, terminated,
weights, n_step): the 1-step transition next to the n-step one, and what the row's part says of it."""

IS_EXPERT = "is_expert"  # 1.0 on rows of the demonstrations part
MARGIN_MASK = "expert_margin_mask"  # 1.0 where DQfD's large-margin loss applies
OBS_1STEP = "obs_1step"  # o_{t+1}
REWARD_1STEP = "reward_1step"  # r_t
TERMINATED_1STEP = "terminated_1step"  # 1.0 if the episode terminated at t + 1
