"""CI's check of one study run on the lab: every party's files on its own host only, then one summary line.

Usage: python3 .ci/check_lab_run.py REPORTS_DIR/latest/results.json
A horizontal run (Lending Club, mnist-cnn) also has each party's training file on that party's host
only; a vertical run has PSI find exactly the ids both parties share.
"""

import json
import sys

with open(sys.argv[1]) as file:
    results = json.load(file)
placement, arms = results["placement"], results["arms"]
hosts = {party: info["host"] for party, info in placement.items()}
assert len(set(hosts.values())) == len(hosts), f"two parties share a host: {hosts}"
summary = [f"placement: {hosts}"]
if "psi" in results:
    psi = results["psi"]
    assert psi["found_overlap"] == psi["true_overlap"], f"PSI found {psi['found_overlap']} of {psi['true_overlap']}"
    summary += [f"PSI {psi['found_overlap']}/{psi['true_overlap']}",
                f"SecureBoost AUC {arms['federated_secureboost']['auc']:.3f}, "
                f"HeteroLR AUC {arms['federated_heterolr']['auc']:.3f}"]
else:
    train = {party: [f["remote_path"] for f in info["files"] if f"train_p{party}_" in f["remote_path"]]
             for party, info in placement.items()}
    assert all(len(paths) == 1 for paths in train.values()), f"each party's training rows on its host only: {train}"
    metric = "auc" if "auc" in arms["federated"] else "accuracy"
    summary.append(f"federated {metric} {arms['federated'][metric]:.3f}")
print("; ".join(summary))
