"""The code FATE's own party processes import from fatelab, on every host.

FATE's HomoNN runner builds the model and the dataset from ``{"module_name", "item_name"}`` entries
in its config, inside each party's task process. On the embedded engines that process shares the
harness's virtualenv; on a cluster it runs in each host's FATE venv, which has no harness. So what
those entries name lives here, apart from the harness, depending on nothing but torch and FATE:
``torch_init`` (seeded initial weights), ``dataset`` (rows in id order), ``text_models``. Beside them,
``enum_pickle``: a start-up shim for hosts whose Python pickles Enum members in a way FATE's restricted
federation unpickler refuses. The fate_flow Ansible role copies this package into every host's FATE venv.
"""
