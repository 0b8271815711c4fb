"""Whether a method claim holds: coverage, bias and paired tests over seeds, on data with
known truth."""
