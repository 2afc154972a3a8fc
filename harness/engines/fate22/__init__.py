"""FATE 2.2: FATE-Flow's REST client and jobs, the embedded server, the lab hosts, the launcher."""
