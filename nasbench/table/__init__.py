"""Lookup tables: the HDF5 format (:mod:`.store`) and fast queries (:mod:`.benchmark`)."""

from nasbench.table.benchmark import (
    DEFAULT_TABLE, Benchmark, MissingEntryError, QueryResult, default_table_path, shipped_tables, table_name,
)
from nasbench.table.store import TableError

__all__ = [
    "DEFAULT_TABLE", "Benchmark", "MissingEntryError", "QueryResult", "TableError", "default_table_path", "shipped_tables",
    "table_name",
]
