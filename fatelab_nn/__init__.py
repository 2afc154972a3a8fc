"""The code FATE's own party processes import by module path when they train a fatelab HomoNN model.

FATE's HomoNN runner builds the model and the dataset from ``{"module_name", "item_name"}`` entries
in its config, inside each party's task process. On the embedded engines that process shares the
harness's virtualenv; on a cluster it runs in each host's FATE venv, which has no harness. So what
those entries name lives here, apart from the harness, depending on nothing but torch and FATE: the
fate_flow Ansible role copies this package into every host's FATE venv.
"""
