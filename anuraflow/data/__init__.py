"""From raw files to labelled windows: audio IO, recording identity, label formats, the AnuraSet
release and class folders, synthetic data, windows, recording-level splits, the per-recording
jobs."""
