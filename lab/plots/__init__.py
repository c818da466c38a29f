"""Pure plotting functions: run histories in, plotly figures (or their trace data) out.

Every ``*_figure`` function has a ``*_data`` twin returning the traces' data in the
same order, so a live widget can update a figure in place with
:func:`apply_trace_data` instead of rebuilding it.
"""

from lab.plots._common import apply_trace_data, thin
from lab.plots.compare import RESULT_COLUMNS, compare_data, compare_figure, results_table
from lab.plots.confusion import (
    cell_indices,
    confusion_data,
    confusion_figure,
    evaluation_at,
    misclassified_indices,
)
from lab.plots.curves import CURVE_TRACES, curves_data, curves_figure
from lab.plots.embedding import embedding_data, embedding_figure
from lab.plots.lr import lr_finder_data, lr_finder_figure
from lab.plots.predictions import topk_data, topk_figure

__all__ = [
    "CURVE_TRACES",
    "RESULT_COLUMNS",
    "apply_trace_data",
    "cell_indices",
    "compare_data",
    "compare_figure",
    "confusion_data",
    "confusion_figure",
    "curves_data",
    "curves_figure",
    "embedding_data",
    "embedding_figure",
    "evaluation_at",
    "lr_finder_data",
    "lr_finder_figure",
    "misclassified_indices",
    "results_table",
    "thin",
    "topk_data",
    "topk_figure",
]
