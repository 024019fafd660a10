"""The run panel's Result section: the results card of ``panel.result``, and the export row.

The export row writes the result as JSONL, CSV or Parquet, or the DPO pairs made from it
(:func:`~distilabel_nb.export.to_preference_pairs`: for each row, its best-rated answer
as ``chosen`` and its worst as ``rejected``, as JSONL). The card is the one
:func:`~distilabel_nb.display.show_results` draws, first page.

Example:
    >>> import pandas as pd
    >>> row = ExportRow(lambda: pd.DataFrame({"input": ["2 + 2?"], "generations": [["4", "5"]], "rating": [[5, 1]]}))
    >>> row.format.value = "pairs"; row.path.value
    'distilabel_nb_result_pairs.jsonl'
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd

from distilabel_nb import schema
from distilabel_nb.display import panel_html
from distilabel_nb.display.html import to_html
from distilabel_nb.display.results import ResultsView
from distilabel_nb.export import to_jsonl, to_preference_pairs
from distilabel_nb.widgets import choices
from distilabel_nb.widgets.progress import require_ipywidgets

#: What the export row offers: (label, format).
FORMATS = [("JSONL", "jsonl"), ("CSV", "csv"), ("Parquet", "parquet"), ("DPO pairs (JSONL)", "pairs")]
#: The file name a DPO-pairs export ends with (the result's own file name otherwise).
PAIRS_ENDING = "_pairs.jsonl"
#: Rows of ``panel.result`` the results card shows.
CARD_ROWS = 5


def export_pairs(frame: pd.DataFrame, path: str | Path) -> tuple[Path, int]:
    """Write the DPO pairs (``prompt``, ``chosen``, ``rejected``, their ratings) of ``frame`` as JSONL.

    Returns:
        The path written and the number of pairs.

    Raises:
        ValueError: when the result has no ratings, or no row has two answers rated apart.
    """
    try:
        pairs = to_preference_pairs(frame)
    except ValueError as exc:
        raise ValueError(f"No DPO pairs: the result has no ratings to pair by ({exc}). "
                         "Turn the labeller on (Labeller tab) and run again.") from None
    if pairs.empty:
        raise ValueError("No DPO pairs: a pair needs two answers of a row with different ratings, and no row has "
                         "them. Set Answers per row to 2 or more (Generator tab) with the labeller on, and run again.")
    return to_jsonl(pairs, Path(str(path).strip()).expanduser()), len(pairs)


class ExportRow:
    """The format, the file and the Export button, and what the last export wrote.

    Args:
        result: Returns the frame to export (``panel.result``).

    Attributes:
        format, path, button, message: the widgets.
        widget: the row and its message (``ipywidgets.VBox``).
    """

    def __init__(self, result: Callable[[], pd.DataFrame | None]):
        w = require_ipywidgets()
        self._result = result
        self.format = w.Dropdown(options=FORMATS, value="jsonl", layout=w.Layout(width="170px"))
        self.path = w.Text(value="distilabel_nb_result.jsonl", placeholder="file to write",
                           layout=w.Layout(width="380px"))
        self.button = w.Button(description="Export", icon="download", disabled=True,
                               tooltip="Write panel.result (or its DPO pairs) to the file", layout=w.Layout(width="110px"))
        self.message = w.HTML()
        self.format.observe(lambda change: self._format_changed(change["new"]), names="value")
        self.widget = w.VBox([w.HBox([self.format, self.path, self.button],
                                     layout=w.Layout(align_items="center", grid_gap="8px")), self.message])

    def _format_changed(self, fmt: str) -> None:
        path = Path(self.path.value.strip() or "distilabel_nb_result.jsonl")
        stem = path.name[: -len(PAIRS_ENDING)] if path.name.endswith(PAIRS_ENDING) else path.stem
        name = stem + (PAIRS_ENDING if fmt == "pairs" else choices.EXPORT_FORMATS[fmt])
        self.path.value = str(path.with_name(name))

    def _frame(self) -> pd.DataFrame:
        frame = self._result()
        if frame is None or frame.empty:
            raise ValueError("Nothing to export yet: press Run, and wait for a row to finish")
        return frame

    def export(self, path: str | Path | None = None, fmt: str | None = None) -> Path:
        """Write the result (see :meth:`Panel.export <distilabel_nb.widgets.panel.Panel.export>`)."""
        frame = self._frame()
        target = Path(str(path if path is not None else self.path.value))
        if fmt is None and target.suffix.lower() not in (".jsonl", ".ndjson", ".csv", ".parquet", ".pq"):
            fmt = self.format.value
        if fmt == "pairs":
            return export_pairs(frame, target)[0]
        return choices.export_frame(frame, target, fmt)

    def clicked(self) -> None:
        """What the Export button does: write, and say what was written where."""
        frame = self._frame()
        if self.format.value == "pairs":
            written, count = export_pairs(frame, self.path.value)
            self.message.value = panel_html.note(
                "success", f"Wrote {count:,} DPO pair{'s' if count != 1 else ''} from {len(frame):,} rows to {written.resolve()}",
                "Each line: prompt, chosen, rejected and their ratings (to_preference_pairs).")
        else:
            written = choices.export_frame(frame, self.path.value, self.format.value)
            self.message.value = panel_html.note("success", f"Wrote {len(frame):,} rows to {written.resolve()}")


def results_card(frame: pd.DataFrame | None) -> str:
    """The results card of the first rows of ``frame`` (``""`` without rows), without the
    provenance and usage columns (``show_results(panel.result, columns="all")`` has them)."""
    if frame is None or frame.empty:
        return ""
    found = schema.of(frame)
    hidden = set(schema.PROVENANCE_COLUMNS) | set(found.usage)  # as show_results, and the token counts
    return to_html(ResultsView(frame, page_size=CARD_ROWS, columns=[c for c in frame.columns if str(c) not in hidden]))
