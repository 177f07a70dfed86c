"""Drop-in adapters for the tools NAS researchers already use.

* :mod:`nasbench.compat.nats`: NATS-Bench's topology API (``create``, ``get_more_info``,
  ``simulate_train_eval``, ...) over a nasbench table; needs no extra package
  (``pip install "nasbench[nats]"`` adds ``nats_bench`` for its structure type);
* :mod:`nasbench.compat.configspace`: a ``ConfigSpace.ConfigurationSpace`` per space and a
  one-call objective (``pip install "nasbench[configspace]"``);
* :mod:`nasbench.compat.synetune`: a table as a syne-tune ``Blackbox`` for its simulator
  (``pip install "nasbench[synetune]"``).

Nothing here is imported by ``import nasbench``: each adapter imports its library only
when it is itself imported.
"""
