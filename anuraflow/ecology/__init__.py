"""From detections to what ecologists publish: detection histories per site and occasion with
their effort, occupancy fitted with models that know the classifier errs, call density per
site (issue 56; DESIGN.md "A season as recorders write it, and what ecologists publish")."""
