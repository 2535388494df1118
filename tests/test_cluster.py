"""Scale-out on a real multi-node Ray cluster on this machine (ray.cluster_utils.Cluster).

The head has no CPU and three worker nodes one CPU each; each Ape-X env runner asks for one CPU,
so Ray must spread them over nodes. Checked: runners land on different nodes and train; a killed env runner is restarted
and the loss shows in the metrics; when every runner dies at once, training resumes once one is restored;
`train_imitate.py --address` joins the cluster.
Each check runs in its own interpreter: Ray allows one cluster connection per process.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APEX_FILE = ROOT / "experiments/cartpole/apex_mixed_IL.yaml"

CLUSTER = """
import json, os, signal, sys, time
import ray
from ray.cluster_utils import Cluster

cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
for _ in range(3):
    cluster.add_node(num_cpus=1)
cluster.wait_for_nodes()
"""

RUNNERS_ON_NODES = (
    CLUSTER
    + """
os.chdir(sys.argv[1])
ray.init(address=cluster.address, log_to_driver=False)
from rllib_il.algorithms.registry import default_config
from rllib_il.workflow.trials import load_all

[exp] = load_all([sys.argv[2]], check_restore_sources=False, num_env_runners=2)
config = default_config(exp.run).update_from_dict(exp.trials[0]["config"])
config.env_runners(num_cpus_per_env_runner=1)  # the file's 0.5 would let two runners share a node
config.fault_tolerance(delay_between_env_runner_restarts_s=1.0)
algo = config.build()
node_of = lambda runner: ray.get_runtime_context().get_node_id()
nodes = algo.env_runner_group.foreach_env_runner(node_of, local_env_runner=False)
pids = algo.env_runner_group.foreach_env_runner(lambda r: os.getpid(), local_env_runner=False)
first = algo.train()
os.kill(pids[0], signal.SIGKILL)
after_kill, deadline = [algo.train() for _ in range(3)], time.time() + 600  # then wait for the restart (a bound, not a race)
while time.time() < deadline and after_kill[-1]["fault_tolerance"]["num_healthy_workers"] < 2:
    after_kill.append(algo.train())
# Every runner lost at once: train() must return (RLlib restores runners between training steps)
# and sampling must resume, within the time limit. Without a healthy runner nothing is sampled, so
# sampling resumes only once RLlib restored a runner (they come back one by one; on a loaded
# machine the second one took longer than the limit).
for pid in algo.env_runner_group.foreach_env_runner(lambda r: os.getpid(), local_env_runner=False):
    os.kill(pid, signal.SIGKILL)
steps_before, deadline, after_all = after_kill[-1]["num_env_steps_sampled_lifetime"], time.time() + 600, []
while time.time() < deadline and (not after_all or after_all[-1]["num_env_steps_sampled_lifetime"] <= steps_before):
    after_all.append(algo.train())
print("RESULT", json.dumps({
    "nodes": nodes,
    "head": cluster.head_node.node_id,
    "steps": [r["num_env_steps_sampled_lifetime"] for r in [first] + after_kill],
    "health": after_kill[-1]["fault_tolerance"],
    "all_killed": {"steps_before": steps_before, "steps_after": after_all[-1]["num_env_steps_sampled_lifetime"],
                   "health": after_all[-1]["fault_tolerance"], "iterations": len(after_all)},
}))
algo.stop()
ray.shutdown()
cluster.shutdown()
"""
)

TRAIN_WITH_ADDRESS = (
    CLUSTER
    + """
proc = __import__("subprocess").run(
    [sys.executable, "train_imitate.py", "-f", sys.argv[2], "--address", cluster.address,
     "--stop-iters", "1", "--num-env-runners", "2", "--output-dir", sys.argv[3]],
    cwd=sys.argv[1], capture_output=True, text=True,
)
print(proc.stdout[-2000:], proc.stderr[-2000:])
print("RESULT", json.dumps({"returncode": proc.returncode}))
cluster.shutdown()
"""
)


def run(script, *args):
    proc = subprocess.run(
        [sys.executable, "-c", script, str(ROOT), *map(str, args)], capture_output=True, text=True, timeout=900
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT ") :]), proc


def test_apex_env_runners_on_different_nodes_survive_a_killed_runner():
    result, proc = run(RUNNERS_ON_NODES, APEX_FILE)
    assert len(set(result["nodes"])) == 2, result  # two runners, two different nodes
    assert result["head"] not in result["nodes"]
    steps = result["steps"]
    assert all(b > a for a, b in zip(steps, steps[1:])), steps  # sampling went on after the kill
    assert result["health"]["num_remote_worker_restarts"] >= 1, result  # the loss is visible in the results
    assert result["health"]["num_healthy_workers"] == 2, result  # and the runner came back
    all_killed = result["all_killed"]
    assert all_killed["steps_after"] > all_killed["steps_before"], all_killed  # sampling resumed
    restarts_before = result["health"]["num_remote_worker_restarts"]
    assert all_killed["health"]["num_remote_worker_restarts"] > restarts_before, all_killed  # a restored runner sampled
    assert all_killed["health"]["num_healthy_workers"] >= 1, all_killed


def test_train_imitate_joins_an_existing_cluster(tmp_path):
    result, proc = run(TRAIN_WITH_ADDRESS, ROOT / "experiments/cartpole/ppo.yaml", tmp_path / "out")
    assert result["returncode"] == 0, proc.stdout[-3000:]
    assert list((tmp_path / "out").glob("*/*/result.json"))
