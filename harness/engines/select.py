"""The engine a run asks for: embedded FATE-Flow, FATE's launcher, or the inventory's deployment.

``engine`` is the study's choice (standalone, launcher, cluster); for a cluster the inventory's
``fate_deployment`` picks FATE 2.2 on hosts or FATE 1.8 on KubeFATE. Settings an engine cannot run
are refused here, before any host is contacted.
"""

from __future__ import annotations

from pathlib import Path

from harness.engines.base import Engine
from harness.errors import ConfigError
from harness.model.logreg import HomoLRSettings
from harness.progress import Progress


def build_engine(
    engine: str,
    *,
    model: HomoLRSettings,
    work_dir: Path,
    flow_home: Path,
    inventory: Path | None = None,
    flow_port: int | None = None,
    paillier: bool = False,
    validate: bool = False,
    progress: bool | Progress = True,
) -> Engine:
    """The engine named by ``engine``; ``validate`` gives the launcher the embedded FATE-Flow to compare with."""
    if engine == "cluster":
        if inventory is None:
            raise ConfigError(
                "the cluster engine needs an inventory", hint="pass --inventory ansible/inventory/lab.yml"
            )
        return cluster_engine(inventory, model=model, work_dir=work_dir, paillier=paillier, progress=progress)
    from harness.engines.fate22.standalone import StandaloneEngine

    if engine == "launcher":
        from harness.engines.fate22.launcher import LauncherEngine

        # The validation's FATE-Flow job runs beside the launch: lines, so it never redraws over the launch's bar.
        reference = StandaloneEngine(flow_home, port=flow_port, progress=Progress.of(progress).without_bars())
        return LauncherEngine(work_dir / "launcher", reference=reference if validate else None, progress=progress)
    return StandaloneEngine(flow_home, port=flow_port, progress=progress)


def cluster_engine(
    inventory: Path, *, model: HomoLRSettings, work_dir: Path, paillier: bool, progress: bool | Progress
) -> Engine:
    """FATE 1.8 on KubeFATE or FATE 2.2 on hosts, as the inventory's ``fate_deployment`` says."""
    from harness.hosts.inventory import load_inventory

    cluster = load_inventory(inventory)
    if cluster.deployment == "kubefate":
        from harness.engines.fate18.kubefate import KubeFate18Engine
        from harness.engines.fate18.mapping import Fate18Options, check_settings

        options = Fate18Options.for_study(model, paillier=paillier)
        check_settings(model, options)  # before any host is contacted
        return KubeFate18Engine(cluster, inventory, work_dir=work_dir, options=options, progress=progress)
    if paillier:
        raise ConfigError(
            f"paillier encryption is a FATE 1.8 option, but inventory {inventory} deploys "
            f"fate_deployment={cluster.deployment!r}",
            hint="use a KubeFATE 1.8 inventory (fate_deployment: kubefate) or drop --paillier",
        )
    from harness.engines.fate22.hosts import ClusterEngine

    return ClusterEngine(cluster, inventory, work_dir=work_dir, progress=progress)
