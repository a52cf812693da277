"""Studies: plans of train/distill runs plus a report. Each module registers one gin name."""
