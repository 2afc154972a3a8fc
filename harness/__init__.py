"""fatelab: run a federated-learning study on FATE and compare it with centralised and local baselines."""

__version__ = "0.1.0"
