"""How fast and how big: throughput, wall time and peak memory of the workflow's stages."""
