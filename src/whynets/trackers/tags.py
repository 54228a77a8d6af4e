"""The one naming rule both trackers follow: every measured number of a run's ``metrics.jsonl`` as
(tag, step, value), the tag ``<metric>/<cell label>[/member<k>]`` in the alphabet both keep."""

from __future__ import annotations

import re
from typing import Any

from whynets.record import metric_rows, scalar_items

__all__ = ["scalars", "clean_tag", "mlflow_key"]


def _group(cell: str | None, slugs: dict[str, int]) -> str:
    if not cell:
        return "run"
    slug, _, digest = cell.rpartition("-")
    if not slug:
        return cell
    return slug if slugs.get(slug, 0) <= 1 else cell  # two cells with one label keep their hash apart


def scalars(rows: list[dict[str, Any]]) -> list[tuple[str, int, float]]:
    """(tag, step, value) for every measured number of ``metrics.jsonl`` rows: the one rule both trackers follow."""
    cells = {r.get("cell") for r in rows if isinstance(r.get("cell"), str)}
    slugs: dict[str, int] = {}
    for c in cells:
        slug = c.rpartition("-")[0]
        slugs[slug] = slugs.get(slug, 0) + 1
    out, counters = [], {}
    for flat in metric_rows(rows):
        group = _group(flat.get("cell"), slugs)
        step = flat.get("step")
        if not isinstance(step, int) or isinstance(step, bool):
            step = counters.get(group, 0)
            counters[group] = step + 1
        member = f"/member{flat['member']}" if "member" in flat else ""
        out += [(clean_tag(f"{name}/{group}{member}"), step, value) for name, value in scalar_items(flat)]
    return out


def clean_tag(tag: str) -> str:
    """A name both trackers keep as it is: letters, digits, ``_ . - /`` (TensorBoard's tag alphabet, inside MLflow's
    key alphabet), every other character ``_`` (``variant=p=0`` → ``variant_p_0``); no empty or dot-only path part."""
    key = re.sub(r"[^-/\w.]", "_", tag)
    key = re.sub(r"/+", "/", key).strip("/")
    return "/".join(part.replace(".", "_") if set(part) <= {"."} else part for part in key.split("/"))


def mlflow_key(tag: str) -> str:
    """``clean_tag`` within MLflow's 250 characters (a longer one keeps its start and a digest of the whole)."""
    key = clean_tag(tag)
    if len(key) > 250:
        import hashlib

        key = key[:237] + "-" + hashlib.sha256(tag.encode()).hexdigest()[:12]
    return key
