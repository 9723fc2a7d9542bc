"""Tests of judge trust: calibration, importers, lock, probes, drift."""
