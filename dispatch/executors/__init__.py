"""What carries out the dispatch planner's decisions on a compute site's pools: the simulation (the default), or a
real cluster scheduler (dispatch.executors.slurm_rest, a Slurm cluster's REST API)."""
