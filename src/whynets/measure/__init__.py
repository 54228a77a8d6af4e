"""Instruments: pure functions ``(model or model_fn, params, data, ...) -> numbers``, each with an oracle test."""

__all__: list[str] = []
