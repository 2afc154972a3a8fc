"""The vertical families' settings as FATE 2.2 parameters: PSI -> hetero_secureboost, PSI -> coordinated_lr.

Registered with :mod:`harness.engines.fate22.mapping`'s ``settings_params`` / ``settings_mapping`` (at
the end of that module). One parameter dict per fit serves both the launcher (FATE's classes, in
:mod:`harness.engines.fate22.launcher_hetero`) and the FATE-Flow DAG (:mod:`harness.engines.fate22.dag_hetero`):
``tree`` holds ``HeteroSecureBoostGuest``'s keyword arguments, which are the component's parameter names.
"""

from __future__ import annotations

from typing import Any

from harness.engines.base import ModelMapping
from harness.model.hetero_lr import HeteroLRSettings
from harness.model.secureboost import OBJECTIVE, SecureBoostSettings

PSI = {"protocol": "ecdh_psi", "curve_type": "curve25519"}


def vertical_params(family: str, s: SecureBoostSettings | HeteroLRSettings) -> dict[str, Any]:
    """What both vertical families set alike: the family, PSI on the ids and the encryption of the exchange."""
    return {"family": family, "psi": dict(PSI), "he_param": {"kind": s.he_kind, "key_length": s.key_length}}


def secureboost_params(s: SecureBoostSettings, max_party_rows: int) -> dict[str, Any]:
    """Every hetero_secureboost train parameter, explicitly (the component's defaults are not the class's)."""
    return vertical_params("hetero_secureboost", s) | {
        "tree": {
            "num_trees": s.num_trees,
            "max_depth": s.max_depth,
            "complete_secure": s.complete_secure,
            "learning_rate": s.learning_rate,
            "objective": OBJECTIVE,
            "num_class": 2,
            "max_bin": s.max_bin,
            "l1": s.l1,
            "l2": s.l2,
            "min_impurity_split": s.min_impurity_split,
            "min_sample_split": s.min_sample_split,
            "min_leaf_node": s.min_leaf_node,
            "min_child_weight": s.min_child_weight,
            "goss": False,
            "goss_start_iter": 0,
            "top_rate": 0.2,
            "other_rate": 0.1,
            "gh_pack": s.gh_pack,
            "split_info_pack": s.split_info_pack,
            "hist_sub": s.hist_sub,
        },
    }


def secureboost_mapping(s: SecureBoostSettings, max_party_rows: int) -> ModelMapping:
    mapping = {
        "trees / depth / learning rate": f"num_trees={s.num_trees}, max_depth={s.max_depth}, "
        f"learning_rate={s.learning_rate} (XGBoost n_estimators, max_depth, learning_rate)",
        "bins": f"max_bin={s.max_bin} (XGBoost tree_method='hist', max_bin)",
        "regularisation": f"l1={s.l1}, l2={s.l2}, min_child_weight={s.min_child_weight}, "
        f"min_impurity_split={s.min_impurity_split} (XGBoost reg_alpha, reg_lambda, min_child_weight, gamma)",
        "start score": "raw 0 = probability 0.5 (XGBoost base_score=0.5)",
        "encryption": f"he_param kind={s.he_kind}, key_length={s.key_length}; the guest holds the key",
        "PSI": "psi protocol=ecdh_psi, curve_type=curve25519, on train and test ids",
    }
    caveats = [
        "bin edges: FATE's quantile binning vs XGBoost's quantile sketch, so split points can differ slightly",
        f"min_sample_split={s.min_sample_split}, min_leaf_node={s.min_leaf_node} (rows) have no XGBoost twin",
        "FATE 2.2 SecureBoost needs a label column without '_' (it parses '<label>_<class>' dummies): "
        "the guest's label is renamed 'label' inside FATE",
    ]
    return ModelMapping("FATE 2.2 PSI + HeteroSecureBoost", mapping, caveats)


def hetero_lr_params(s: HeteroLRSettings, max_party_rows: int) -> dict[str, Any]:
    """Every coordinated_lr train parameter, explicitly; full batch is batch_size None."""
    return vertical_params("coordinated_lr", s) | {
        "lr": {
            "epochs": s.epochs,
            "batch_size": None,
            "optimizer": {
                "method": s.optimizer,
                "penalty": s.penalty,
                "alpha": float(s.alpha),
                "optimizer_params": {"lr": float(s.learning_rate)},
            },
            "learning_rate_scheduler": {"method": "constant", "scheduler_params": {"factor": 1.0}},
            "init_param": {"method": s.init_method, "fit_intercept": s.fit_intercept},
            "floating_point_precision": s.floating_point_precision,
            "threshold": float(s.threshold),
            "early_stop": s.early_stop,
            "tol": float(s.tol),
        },
    }


def hetero_lr_mapping(s: HeteroLRSettings, max_party_rows: int) -> ModelMapping:
    mapping = {
        "epochs / batch": f"epochs={s.epochs}, batch_size=None (full batch)",
        "optimizer": f"optimizer.method='{s.optimizer}', lr={s.learning_rate}, penalty={s.penalty}, alpha={s.alpha}",
        "init": f"init_param.method='{s.init_method}', fit_intercept={s.fit_intercept}",
        "convergence": f"early_stop='{s.early_stop}', tol={s.tol}",
        "encryption": f"he_param kind={s.he_kind}, key_length={s.key_length}; the arbiter holds the key",
    }
    caveats = [
        "coordinated LR trains on the second-order Taylor expansion of the logistic loss; the baselines "
        "(harness/model/hetero_lr.py) use the same rule, so they are not exact logistic regression either",
        f"Paillier encodes values with floating_point_precision={s.floating_point_precision} bits",
    ]
    return ModelMapping("FATE 2.2 PSI + coordinated LR (HeteroLR)", mapping, caveats)
