"""Inside FATE's multi-process launcher: one cost case after another, every message counted.

Run by :mod:`harness.security.cost` as ``python -m harness.security.cost_party --plan ...`` (the launcher
engine's own parent, :func:`harness.engines.fate22.launcher_party.main`, with this module's
:func:`run_cost_party` as the party body). Every case builds a federation of exactly its parties, counted
by :class:`harness.engines.fate22.wire.WireCounter`, and runs ``rounds`` FedAvg rounds the way FATE 2.2's
HomoLR does them (a ``Linear(d, 1)`` model; per round the model under ``aggregation-<i>`` and the loss under
``loss_aggregation-<i>``, row-weighted mean):

* ``plaintext``: FATE's ``PlainTextAggregatorClient/Server`` (``fate/ml/aggregator``);
* ``secure_aggregation``: FATE's ``SecureAggregatorClient/Server`` - what HomoLR always uses (x25519
  pairwise keys at set-up, ``RandomMix`` masks per round, ``MixAggregate`` at the arbiter);
* ``paillier``: FATE 1.x HomoLR's ``encrypt_param`` scheme on FATE 2.2's own Paillier
  (``fate/arch/protocol/phe/paillier.py``): the arbiter generates the key pair and sends the public key;
  each data party encrypts its row-weighted model and loss; the arbiter adds the ciphertexts, decrypts the
  sum and sends the plaintext average back. (FATE 1.x encrypts the hosts only and re-encrypts the model
  for them; here every data party encrypts, so the arbiter sees no party's model in the clear.)

Each party writes ``case<i>/<role>_<party>.json``: its wire summary and per-round seconds (``round_s``
wall time from sending to holding the aggregate; ``encrypt_s`` masking or encryption; at the arbiter
``aggregate_s`` and ``decrypt_s``; ``wait_s`` time blocked receiving).
"""

from __future__ import annotations

import json
import multiprocessing
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from harness.engines.fate22 import launcher_party as lp

LR = 0.1
MODEL = "aggregation"
LOSS = "loss_aggregation"


class Watch:
    """Seconds per phase per round."""

    def __init__(self) -> None:
        self.rounds: list[dict[str, float]] = []

    def next_round(self) -> None:
        self.rounds.append(defaultdict(float))

    @contextmanager
    def time(self, phase: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            if self.rounds:
                self.rounds[-1][phase] += time.perf_counter() - started

    def timed(self, phase: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.time(phase):
                return fn(*args, **kwargs)

        return wrapper

    def as_dict(self) -> dict[str, list[float]]:
        phases = sorted({k for r in self.rounds for k in r})
        return {f"{k}_s": [r.get(k, 0.0) for r in self.rounds] for k in phases}


class _TimedMixer:
    """FATE's RandomMix with its ``mix`` (the masking) timed; the Rust object cannot be patched itself."""

    def __init__(self, mixer: Any, watch: Watch) -> None:
        self.mix = watch.timed("encrypt", mixer.mix)


def run_cost_party(plan_path: str, ctx: Any) -> None:
    plan = json.loads(Path(plan_path).read_text())
    me = tuple(ctx.federation.local_party)
    computing = lp.forking_session(ctx.computing)
    lp.all_ready(ctx)
    for case in plan["cases"]:
        parties = [tuple(p) for p in case["parties"]]
        if me in parties:
            run_case(plan, case, me, parties, computing)


def run_case(plan: Mapping[str, Any], case: Mapping[str, Any], me: tuple[str, str], parties: list,
             computing: Any) -> None:
    index = case["index"]
    out = Path(plan["out_dir"]) / f"case{index}"
    out.mkdir(parents=True, exist_ok=True)
    ctx, counter = lp.counted_context(f"{plan['session']}-case{index}", f"case{index}", me, parties, computing)
    watch = Watch()
    # Time blocked in receiving: the rest of a round is what protection and transfer cost.
    fed = ctx.federation
    fed.pull_bytes = watch.timed("wait", fed.pull_bytes)
    fed.pull_table = watch.timed("wait", fed.pull_table)
    if me[0] == "arbiter":
        PROTECTIONS[case["protection"]].arbiter(ctx, case, watch)
    else:
        client(ctx, case, me[1], watch)
    lp.write_json(out / f"{me[0]}_{me[1]}.json", counter.summary() | watch.as_dict())


# ------------------------------------------------------------------------------------------ data parties
def client(ctx: Any, case: Mapping[str, Any], party: str, watch: Watch) -> None:
    import numpy as np
    import torch

    with np.load(case["data"][party]) as arrays:
        x, y = torch.from_numpy(arrays["x"]), torch.from_numpy(arrays["y"])
    model = torch.nn.Linear(x.shape[1], 1)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    exchange = PROTECTIONS[case["protection"]].client(ctx, case, len(x), watch)
    for i in range(case["rounds"]):
        watch.next_round()
        with watch.time("local"):
            optimizer.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy(torch.sigmoid(model(x)).reshape(-1), y)
            loss.backward()
            optimizer.step()
        with watch.time("round"):
            exchange(ctx, i, model, float(loss.detach()))


def fate_aggregator_client(secure: bool) -> Callable[..., Callable[..., None]]:
    def setup(ctx: Any, case: Mapping[str, Any], rows: int, watch: Watch) -> Callable[..., None]:
        from fate.ml.aggregator import PlainTextAggregatorClient, SecureAggregatorClient

        cls = SecureAggregatorClient if secure else PlainTextAggregatorClient
        agg = cls(ctx, aggregator_name="fedavg", aggregate_type="weighted_mean", sample_num=rows)
        if secure:
            for part in (agg.model_aggregator, agg.loss_aggregator):
                part._mixer = _TimedMixer(part._get_mixer(), watch)

        def exchange(ctx: Any, i: int, model: Any, loss: float) -> None:
            agg.model_aggregation(ctx.sub_ctx(MODEL).indexed_ctx(i), model)
            # HomoLR hands over a bare float. FATE's plaintext server sums 0-d arrays into a numpy scalar,
            # which FATE's own restricted unpickler then refuses: a one-element array is the same loss.
            agg.loss_aggregation(ctx.sub_ctx(LOSS).indexed_ctx(i), loss if secure else [loss])

        return exchange

    return setup


def paillier_client(ctx: Any, case: Mapping[str, Any], rows: int, watch: Watch) -> Callable[..., None]:
    import torch
    from fate.arch.protocol.phe import paillier

    raw_pk, raw_coder = ctx.arbiter.get("paillier_public_key")
    pk, coder = paillier.PK(raw_pk), paillier.Coder(raw_coder)
    ctx.arbiter.put("paillier_rows", rows)

    def encrypted(values: Any) -> Any:
        with watch.time("encrypt"):
            vec = torch.as_tensor(values, dtype=torch.float64).reshape(-1) * rows
            return pk.encrypt_encoded(coder.encode_f64_vec(vec), obfuscate=True)

    def exchange(ctx: Any, i: int, model: Any, loss: float) -> None:
        flat = torch.cat([model.weight.detach().reshape(-1), model.bias.detach()]).double()
        sub = ctx.sub_ctx(MODEL).indexed_ctx(i)
        sub.arbiter.put("paillier_model", encrypted(flat))
        average = torch.as_tensor(sub.arbiter.get("paillier_average"))
        with torch.no_grad():
            model.weight.copy_(average[:-1].reshape(model.weight.shape))
            model.bias.copy_(average[-1:])
        loss_ctx = ctx.sub_ctx(LOSS).indexed_ctx(i)
        loss_ctx.arbiter.put("paillier_loss", encrypted([loss]))
        loss_ctx.arbiter.get("paillier_average")

    return exchange


# ------------------------------------------------------------------------------------------ arbiter
def _collect(ctx: Any, name: str) -> list[Any]:
    return [ctx.guest.get(name), *ctx.hosts.get(name)]


def _broadcast(ctx: Any, name: str, value: Any) -> None:
    ctx.guest.put(name, value)
    ctx.hosts.put(name, value)


def fate_aggregator_server(secure: bool) -> Callable[..., None]:
    def serve(ctx: Any, case: Mapping[str, Any], watch: Watch) -> None:
        from fate.ml.aggregator import PlainTextAggregatorServer, SecureAggregatorServer

        server = (SecureAggregatorServer if secure else PlainTextAggregatorServer)(ctx, aggregator_name="fedavg")
        for i in range(case["rounds"]):
            watch.next_round()
            # Unmasking and averaging happen inside FATE's call: its time less the waiting is the aggregation.
            with watch.time("server"):
                server.model_aggregation(ctx.sub_ctx(MODEL).indexed_ctx(i))
                server.loss_aggregation(ctx.sub_ctx(LOSS).indexed_ctx(i))

    return serve


def paillier_server(ctx: Any, case: Mapping[str, Any], watch: Watch) -> None:
    from fate.arch.protocol.phe import paillier

    sk, pk, coder = paillier.keygen(case["key_bits"])
    _broadcast(ctx, "paillier_public_key", (pk.pk, coder.coder))
    total_rows = float(sum(_collect(ctx, "paillier_rows")))

    def average(sub: Any, name: str) -> None:
        ciphertexts = _collect(sub, name)
        with watch.time("aggregate"):
            total = ciphertexts[0]
            for other in ciphertexts[1:]:
                total = paillier.evaluator.add(total, other, pk)
        with watch.time("decrypt"):
            plain = coder.decode_f64_vec(sk.decrypt_to_encoded(total)) / total_rows
        _broadcast(sub, "paillier_average", plain.numpy())

    for i in range(case["rounds"]):
        watch.next_round()
        with watch.time("server"):
            average(ctx.sub_ctx(MODEL).indexed_ctx(i), "paillier_model")
            average(ctx.sub_ctx(LOSS).indexed_ctx(i), "paillier_loss")


class Protection(NamedTuple):
    client: Callable[..., Callable[..., None]]  # a data party's set-up; returns its per-round exchange
    arbiter: Callable[..., None]


PROTECTIONS = {
    "plaintext": Protection(fate_aggregator_client(secure=False), fate_aggregator_server(secure=False)),
    "secure_aggregation": Protection(fate_aggregator_client(secure=True), fate_aggregator_server(secure=True)),
    "paillier": Protection(paillier_client, paillier_server),
}


if __name__ == "__main__":
    # The children are spawned and re-import this module: only the parent launches.
    if multiprocessing.parent_process() is None:
        sys.exit(lp.main(party=run_cost_party))
