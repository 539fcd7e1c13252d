"""The protocol (what runs on which data with which seeds) and what runs it: demo, tuning, zero-shot, plan, benchmarks, prediction."""
