"""When trains may depart and how long an episode lasts (env_config `timetable`).

- "flatland3" (flatland >= 3's `timetable_generator`): departures spread over the episode, time
  limit about 1.5 x the longest shortest journey (27-145 steps, median 74, on small_v0).
- "flatland2" (flatland 2.x, the setting of the 2020 baselines): every train may depart at step 0;
  time limit int(8 x (width + height + trains / cities)) (about 410 steps on small_v0).
"""

import flatland.envs.rail_env  # noqa: F401 -- flatland 4.3 cannot import timetable_generators first (circular import)
from flatland.envs.timetable_generators import timetable_generator
from flatland.envs.timetable_utils import Timetable


def flatland2_timetable(agents, distance_map, agents_hints, np_random=None) -> Timetable:
    """flatland 2.x's `max_episode_steps` (sparse_schedule_generator) with no departure times."""
    cities = len(agents_hints["city_positions"]) if agents_hints else 2
    limit = int(8 * (distance_map.rail.width + distance_map.rail.height + len(agents) / cities))
    for agent in agents:
        agent.earliest_departure, agent.latest_arrival = 0, limit
    return Timetable(
        earliest_departures=[[0, None] for _ in agents],
        latest_arrivals=[[None, limit] for _ in agents],
        max_episode_steps=limit,
    )


GENERATORS = {"flatland3": timetable_generator, "flatland2": flatland2_timetable}  # presets.TIMETABLES
