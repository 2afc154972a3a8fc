"""FATE 1.8 on KubeFATE: FATE-Flow 1.8's REST client, the DSL v2 job, the study mapping."""
