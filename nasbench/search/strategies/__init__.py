"""One file per table-based (ask/tell) strategy; :mod:`nasbench.search.registry` finds them by their ``name``.

Every module here must import without torch: the registry imports a strategy's
module only when it is used, and a search of a table never imports torch.
"""
