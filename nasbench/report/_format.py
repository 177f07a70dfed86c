"""What every report shares: Markdown tables, matplotlib (imported on first use, Agg backend), figures saved atomically.

>>> import pandas as pd
>>> print(markdown_table(pd.DataFrame({"strategy": ["rea", "random"], "runs": [3, 1], "regret": [0.25, float("nan")]})))
| strategy | runs | regret |
|---|---|---|
| rea | 3 | 0.2500 |
| random | 1 | n/a |
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasbench.io import atomic_path


def pyplot():
    """``matplotlib.pyplot`` with the Agg backend (files only, no display), imported on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | Path, **savefig: Any) -> None:
    """Save ``fig`` to ``path`` atomically (its format from the suffix), then close it."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip("."), **savefig)
    pyplot().close(fig)


def markdown_table(frame: pd.DataFrame, floatfmt: str = ".4f") -> str:
    """``frame`` as a Markdown table; floats as ``floatfmt``, NaN and infinities as ``n/a``."""
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for i in range(len(frame)):  # not iterrows: it would turn integer columns into floats
        cells = []
        for c in cols:
            v = frame[c].iloc[i]
            if isinstance(v, (float, np.floating)):
                cells.append(format(v, floatfmt) if np.isfinite(v) else "n/a")  # e.g. the std of a single run
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


__all__ = ["pyplot", "save_figure", "markdown_table"]
