"""Env runner health in every training result, so lost runners show in Tune and TensorBoard."""


def report_env_runner_health(algorithm, result: dict, **kwargs) -> None:
    """`on_train_result` callback: healthy / configured remote env runners and restarts so far."""
    group = algorithm.env_runner_group
    if group is None:  # offline algorithms sample no env
        return
    result["env_runner_health"] = {
        "num_remote_env_runners": group.num_remote_env_runners(),
        "num_healthy_remote_env_runners": group.num_healthy_remote_env_runners(),
        "num_restarts": group.num_remote_worker_restarts(),
    }
