"""Evaluation harness and reports."""
