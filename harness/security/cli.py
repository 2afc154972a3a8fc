"""`fatelab security`'s arguments and handler (the main CLI only registers them)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

SIZED = (
    ("--seeds", "seeds", "comma-separated seeds (full: 42..46)"),
    ("--key-bits", "key_bits", "Paillier key sizes, >= 1024 (full: 1024,2048,3072)"),
    ("--features", "features", "feature counts of the cost grid, the first is the base (full: 37,200,1000)"),
    ("--parties", "parties", "data-party counts of the cost grid, the first is the base (full: 3,5,10)"),
    ("--label-flip", "label_flip", "percent of the attacker's labels flipped, 0-100 (full: 0,25,50,100)"),
    ("--scaling", "scaling", "update scale factors k (full: 1,3,10,100)"),
    ("--epsilons", "epsilons", "adversarial perturbation sizes, >= 0 (full: 0,0.05,0.1,0.25,0.5,1)"),
    ("--cnn-seeds", "cnn_transfer_seeds", "seeds of the transfer attack on the federated MNIST CNN (full: 42,43,44)"),
    ("--studies", "studies", "which studies: cost,leakage,poisoning,adversarial (default all)"),
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    sec = sub.add_parser(
        "security",
        help="the security and cost study: cost of protection, leakage, poisoning, adversarial examples",
        description="On the Lending Club scenario's own seed data: plaintext vs FATE 2.2 secure aggregation vs "
        "Paillier (FATE 2.2's Paillier) per round, bytes counted from FATE's serialized messages; record recovery "
        "from plaintext LR updates; label-flip / scaling / backdoor poisoning against fedavg, median, trimmed mean "
        "and Krum; FGSM / PGD / transfer attacks. Writes reports/<run-id>/security.json, security.md and PNGs.",
    )
    sec.add_argument("--preset", choices=["full", "ci"], default="full", help="full grid (make security) or CI-sized")
    sec.add_argument("--data", type=Path, help="Lending Club loan.csv (default: the bundled 5k-row sample)")
    sec.add_argument(
        "--mnist", type=Path, help="MNIST sample for image reconstruction (default: data/mnist/mnist_5k.csv.gz)"
    )
    sec.add_argument("--reports", type=Path, help="reports directory (default reports/)")
    sec.add_argument("--run-id", help="report directory name (default security-<time>)")
    sec.add_argument("--rounds", type=int, help="cost rounds per case (full: 3)")
    sec.add_argument("--no-homolr-check", action="store_true", help="skip the real FATE HomoLR launcher fit")
    sec.add_argument("--no-cnn-transfer", action="store_true",
                     help="skip the transfer attack on the federated MNIST CNN (FATE HomoNN launcher fits)")
    for flag, _, text in SIZED:
        sec.add_argument(flag, help=text)


def command(args: argparse.Namespace) -> int:
    from harness.security.config import security_config
    from harness.security.run import run_security

    overrides = {key: getattr(args, flag[2:].replace("-", "_")) for flag, key, _ in SIZED}
    overrides |= {"data": args.data, "mnist": args.mnist, "reports_dir": args.reports, "run_id": args.run_id,
                  "cost_rounds": args.rounds}
    if args.no_homolr_check:
        overrides["homolr_check"] = False
    if args.no_cnn_transfer:
        overrides["cnn_transfer"] = False
    run_dir = run_security(security_config(args.preset, **overrides))
    print(json.dumps({"report": str(run_dir / "security.md"), "results": str(run_dir / "security.json")}))
    return 0
