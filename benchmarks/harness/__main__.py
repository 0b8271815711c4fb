"""`python -m benchmarks.harness [--cuda]`: this machine's tag, for shell scripts
(tools/gpu_check.sh); `--cuda`: the GPU's where one is visible."""

import sys

from benchmarks.harness.machine import machine_tag

if sys.argv[1:] == ["--cuda"]:
    import torch  # noqa: F401 (machine_tag asks it for the GPU)
print(machine_tag())
