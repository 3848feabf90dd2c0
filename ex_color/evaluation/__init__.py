"""Evaluating trained models: the probe of colours and the eval settings (`settings`), chunked prediction
under interventions (`predict`), the numbers (`metrics`), the metrics.json schema (`schema`) and the
measurement of a run, baseline once and each intervention once (`measure`)."""
