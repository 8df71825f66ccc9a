"""Scenario 03B: an auto-graded AWS IAM & CloudTrail triage exercise."""

__version__ = "0.1.0"
