"""Lookup tables: the HDF5 format (:mod:`.store`) and fast queries (:mod:`.benchmark`)."""

from nasbench.table.benchmark import Benchmark, MissingEntryError, QueryResult, default_table_path
from nasbench.table.store import TableError

__all__ = ["Benchmark", "MissingEntryError", "QueryResult", "TableError", "default_table_path"]
