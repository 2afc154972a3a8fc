"""The in-process model (the baselines' trainer) and the metrics every arm is scored with."""
