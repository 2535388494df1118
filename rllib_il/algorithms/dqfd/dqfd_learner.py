"""Names of the DQfD learner metrics (framework independent), logged per module each update."""

MARGIN_LOSS_KEY = "margin_loss"  # J_E, mean over expert rows
TD_LOSS_1STEP_KEY = "td_loss_1step"  # J_DQ
TD_LOSS_NSTEP_KEY = "td_loss_nstep"  # J_n
L2_LOSS_KEY = "l2_loss"  # J_L2 (before lambda3)
EXPERT_FRACTION_KEY = "expert_fraction_achieved"  # share of expert rows in the trained batch
EXPERT_ACCURACY_KEY = "expert_greedy_accuracy"  # argmax_a Q(s, a) == a_E on expert rows
TD_ERROR_EXPERT_KEY = "td_error_expert"  # mean |1-step TD error| on expert rows
TD_ERROR_SIM_KEY = "td_error_simulation"  # mean |1-step TD error| on simulation rows
