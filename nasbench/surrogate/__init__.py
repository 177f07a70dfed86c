"""XGBoost surrogate of a table (:mod:`.model`), served as a benchmark (:mod:`.benchmark`), proven by :mod:`.quality`."""

from nasbench.surrogate.benchmark import SurrogateBenchmark, default_surrogate_path
from nasbench.surrogate.model import Surrogate, SurrogateError, open_table, split_classes

__all__ = ["Surrogate", "SurrogateBenchmark", "SurrogateError", "default_surrogate_path", "open_table", "split_classes"]
