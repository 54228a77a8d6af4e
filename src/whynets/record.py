"""A run's record as Python users hold it: still the plain ``results.json`` dict, plus tables and a notebook view.

    >>> import whynets as wn
    >>> record = wn.run("double-descent", preset="smoke", out="runs")   # a RunRecord: record["claims"] works as before
    >>> record.claims_frame()          # one row per claim: status, estimate and its 95% interval (pandas)
    >>> record.metrics_frame()         # metrics.jsonl, one row per (measurement, population member) (pandas)
    >>> record                         # in Jupyter: the claims with their intervals and the figures inline
    >>> wn.load_run("runs/double-descent/87570bd69fd1")   # the same from a run folder, read from the store only

``RunRecord`` is a ``dict`` (``json.dumps``, ``record["claims"]``, ``==`` all work unchanged) that knows its run
folder; its ``"claims"`` is a ``ClaimsTable``, a ``list`` of the claim dicts that renders itself as a table.
pandas is imported only by the ``*_frame`` methods (``pip install whynets[pandas]``); the core never needs it.

``metric_rows`` is the one flattening of ``metrics.jsonl`` that the DataFrames and the trackers
(``whynets.trackers``) share: the fields that name a cell (its label: ``panel``, ``seed``, ``stage`` …) are kept
apart from the measured numbers, and a list over a population's members becomes one row per member.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from whynets.claims import status

__all__ = ["RunRecord", "ClaimsTable", "load_run", "metric_rows", "deciding_check", "claim_rows", "scalar_items", "require_pandas"]


def require_pandas():
    """pandas, or one line saying how to install it (it is optional: the core never imports it)."""
    try:
        import pandas
    except ImportError:
        from whynets.errors import WhynetsError

        raise WhynetsError("this table needs pandas, which whynets does not install by default: "
                           "pip install 'whynets[pandas]' (or pip install pandas)") from None
    return pandas


def deciding_check(claim: dict[str, Any]) -> dict[str, Any] | None:
    """The check that decides a claim's verdict: the first failing one, else the first undecided one, else the one
    with the smallest margin (the claim's margin is the smallest of its checks'), else the first."""
    checks = claim.get("checks") or []
    for verdict in ("fail", "inconclusive"):
        for c in checks:
            if c.get("verdict") == verdict:
                return c
    with_margin = [c for c in checks if isinstance(c.get("margin"), (int, float))]
    if with_margin:
        return min(with_margin, key=lambda c: c["margin"])
    return checks[0] if checks else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def claim_rows(claims: Iterable[dict[str, Any]], checks: bool = False) -> list[dict[str, Any]]:
    """Plain rows of a claims table: one per claim (its deciding check's estimate and interval), or with
    ``checks=True`` one per check (the paper's checks, then a declared prediction's, ``role`` says which)."""
    rows = []
    for c in claims:
        base = {"claim": c["id"], "experiment": c["id"].split("/", 1)[0], "status": status(c),
                "statement": c.get("statement"), "source": c.get("source"),
                "paper": c["paper"] if isinstance(c.get("paper"), (int, float, str)) or c.get("paper") is None
                else json.dumps(c["paper"], default=str),
                "margin": _number(c.get("margin"))}
        chosen = ([("paper", k) for k in c.get("checks") or []]
                  + [("predicted instead", k) for k in (c.get("expected") or {}).get("checks") or []]
                  if checks else [("paper", deciding_check(c))])
        for role, k in chosen:
            row = dict(base)
            if k is None:
                row.update(criterion=c.get("criterion"), estimate=_number(c.get("measured")), lo=None, hi=None,
                           method=None, n=None)
            else:
                lo, hi = (k.get("interval") or [None, None])[:2]
                row.update(criterion=k.get("criterion"), estimate=_number(k.get("estimate")), lo=_number(lo),
                           hi=_number(hi), method=k.get("method"), n=k.get("n"))
                if checks:
                    row.update(role=role, check_verdict=k.get("verdict"), check_margin=_number(k.get("margin")),
                               op=k.get("op"), threshold=json.dumps(k.get("threshold")))
            rows.append(row)
    return rows


class ClaimsTable(list):
    """A list of claim dicts (as in ``results.json``) that shows itself as a table in Jupyter and as a DataFrame."""

    def frame(self, checks: bool = False):
        """One row per claim (``checks=True``: per check) — status, criterion, estimate, lo, hi, margin (pandas)."""
        return require_pandas().DataFrame(claim_rows(self, checks=checks))

    def summary(self) -> dict[str, int]:
        from whynets.report.claims import summary

        return summary(self)

    def _repr_html_(self) -> str:
        from whynets.report.notebook import claims_html

        return claims_html(list(self))


def _label_keys(row: dict[str, Any]) -> set[str]:
    """The fields of a metrics row that name its cell (the experiment's label, repeated on every row), not a
    measurement: text fields, and the keys the cell's name spells out (``panel=…,noise=0.15,seed=0-<hash>``)."""
    cell = row.get("cell")
    named = set()
    if isinstance(cell, str):
        slug = cell.rsplit("-", 1)[0]
        named = {part.split("=", 1)[0] for part in slug.split(",") if "=" in part}
    return {k for k, v in row.items() if k == "cell" or k in named or isinstance(v, str)}


def metric_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flatten ``metrics.jsonl`` rows: label fields and ``step`` kept, nested dicts spelled ``a/b``, and a row whose
    list-valued fields all have one length K (a population's members) becomes K rows with ``member`` 0..K-1."""
    out = []
    for row in rows:
        labels = _label_keys(row)
        flat: dict[str, Any] = {}

        def put(prefix: str, value: Any) -> None:
            if isinstance(value, dict):
                for k, v in value.items():
                    put(f"{prefix}/{k}", v)
            else:
                flat[prefix] = value
        for k, v in row.items():
            if k in labels:
                flat[k] = v
            else:
                put(k, v)
        lists = {k: v for k, v in flat.items() if k not in labels and isinstance(v, list)}
        lengths = {len(v) for v in lists.values()}
        if lists and len(lengths) == 1 and all(not isinstance(x, (list, dict)) for v in lists.values() for x in v):
            for m in range(lengths.pop()):
                out.append({**{k: v for k, v in flat.items() if k not in lists}, "member": m,
                            **{k: v[m] for k, v in lists.items()}})
        else:
            out.append(flat)
    return out


def scalar_items(row: dict[str, Any]) -> list[tuple[str, float]]:
    """The measured numbers of one flattened row (``metric_rows``): (name, value) for every int, float or bool that
    is not a label, the step or the member index."""
    labels = _label_keys(row)
    return [(k, float(v)) for k, v in row.items()
            if k not in labels and k not in ("step", "member") and isinstance(v, (int, float))]


class RunRecord(dict):
    """The record ``results.json`` holds (a plain dict, unchanged), with its run folder and tables."""

    def __init__(self, record: dict[str, Any], folder: str | Path | None = None):
        super().__init__(record)
        if isinstance(self.get("claims"), list) and not isinstance(self["claims"], ClaimsTable):
            self["claims"] = ClaimsTable(self["claims"])
        self.folder = Path(folder) if folder is not None else None

    def __reduce__(self):
        return (RunRecord, (dict(self), self.folder))

    @classmethod
    def load(cls, folder: str | Path) -> "RunRecord":
        """The record of a finished run folder (``<out>/<experiment>/<spec hash>``, or its ``results.json``)."""
        from whynets.store import StoreError, read_json

        path = Path(folder)
        path = path if path.name == "results.json" else path / "results.json"
        if not path.exists():
            raise StoreError(f"{path}: no results.json here; give a finished run folder "
                             "(<out>/<experiment>/<spec hash>)")
        try:
            data = read_json(path)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise StoreError(f"{path} is not JSON ({err}); run the experiment again to rewrite it") from None
        return cls(data, path.parent)

    @property
    def claims(self) -> ClaimsTable:
        return self["claims"]

    def claims_frame(self, checks: bool = False):
        """The claims as a DataFrame: one row per claim (``checks=True``: per check) with the estimate, its 95%
        interval (``lo``, ``hi``), the margin and the status."""
        return self.claims.frame(checks=checks)

    def metric_rows(self) -> list[dict[str, Any]]:
        """``metrics.jsonl`` of the run folder, flattened (``metric_rows``); none without a folder."""
        from whynets.store import read_metrics

        if self.folder is None:
            return []
        return metric_rows(read_metrics(self.folder / "metrics.jsonl"))

    def metrics_frame(self):
        """``metrics.jsonl`` as a DataFrame: the cell and its label fields, ``step``, ``member`` and each metric."""
        return require_pandas().DataFrame(self.metric_rows())

    def figure_paths(self) -> list[Path]:
        if self.folder is None:
            return []
        return [self.folder / "figures" / name for name in self.get("figures", [])
                if (self.folder / "figures" / name).exists()]

    def _repr_html_(self) -> str:
        from whynets.report.notebook import record_html

        return record_html(self, self.figure_paths())


def load_run(folder: str | Path) -> RunRecord:
    """A finished run's record from its folder (``<out>/<experiment>/<spec hash>``), read from the store only."""
    return RunRecord.load(folder)
