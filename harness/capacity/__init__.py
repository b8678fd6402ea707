"""Capacity planning from measured data: what a loaded system occupies now (measure), how the
spec's growth model extends that over months or to a target user count (model), which
collections will outgrow their SLA assumptions (flags), and how well the model predicts a
4× larger load it never saw (validate). `harness capacity` renders it (report)."""
