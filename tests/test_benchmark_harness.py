"""The benchmarks' harness (benchmarks/harness): the machine tag a result file is named by,
and where a result goes."""

import pytest

from benchmarks.harness import RESULTS, machine, result_path


@pytest.mark.parametrize(
    ("name", "flags", "tag"),
    [
        ("AMD EPYC", {"avx2", "avx512f", "avx512_bf16"}, "amd-epyc-bf16"),
        ("AMD EPYC", {"avx2"}, "amd-epyc-avx2"),
        ("Intel(R) Xeon(R) Processor", {"avx2", "avx512f", "avx512_bf16", "amx_tile"},
         "intel-xeon-amx"),
        ("Intel(R) Xeon(R) Platinum 8480", {"avx2", "avx512f"}, "intel-xeon-avx512"),
        ("AMD Ryzen 9 7950X", {"sse4_2"}, "amd-ryzen-base"),
        ("Apple M2", set(), "apple-m2-base"),
    ],
)  # fmt: skip
def test_a_cpu_is_tagged_by_vendor_family_and_best_instruction_set(monkeypatch, name, flags, tag):
    for cap in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"):
        monkeypatch.delenv(cap, raising=False)
    monkeypatch.setattr(machine, "cpu_name", lambda: name)
    monkeypatch.setattr(machine, "cpu_flags", lambda: flags)
    assert machine.machine_tag(device="cpu") == tag


def test_a_cpu_capped_to_older_kernels_says_so_in_its_tag_and_facts(monkeypatch):
    """ONEDNN_MAX_CPU_ISA=AVX2 on a bf16 CPU emulates an AVX2 CPU's kernels: its results must
    not pass for the uncapped CPU's."""
    monkeypatch.setattr(machine, "cpu_name", lambda: "AMD EPYC")
    monkeypatch.setattr(machine, "cpu_flags", lambda: {"avx2", "avx512f", "avx512_bf16"})
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "avx2")
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")
    assert machine.machine_tag(device="cpu") == "amd-epyc-bf16-as-avx2"
    assert machine.cpu_facts()["capped_to"] == {"onednn": "AVX2", "aten": "avx2"}
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "ALL")  # oneDNN's own word for no cap
    monkeypatch.delenv("ATEN_CPU_CAPABILITY")
    assert machine.machine_tag(device="cpu") == "amd-epyc-bf16"
    assert "capped_to" not in machine.cpu_facts()


def test_a_gpu_is_tagged_by_its_name():
    assert machine.machine_tag("NVIDIA H200") == "nvidia-h200"
    assert machine.machine_tag("NVIDIA H100 80GB HBM3") == "nvidia-h100-80gb-hbm3"


def test_the_cpu_facts_name_only_the_flags_that_matter(monkeypatch):
    monkeypatch.setattr(machine, "cpu_flags", lambda: {"avx2", "avx512f", "fma", "sse4_2"})
    facts = machine.cpu_facts()
    assert facts["flags"] == ["avx2", "avx512f"] and facts["level"] == "avx512"


def test_a_result_goes_to_its_benchmark_folder_by_machine_and_variant(monkeypatch):
    monkeypatch.setattr("benchmarks.harness.report.machine_tag", lambda device=None: "m1")
    assert result_path("data_path", "small_cnn") == RESULTS / "data_path" / "m1_small_cnn.json"
    assert result_path("occupancy") == RESULTS / "occupancy" / "m1.json"


def test_every_committed_result_sits_in_a_benchmark_folder():
    loose = sorted(p.name for p in RESULTS.iterdir() if p.is_file())
    assert loose == []
    folders = {p.name for p in RESULTS.iterdir()}
    assert {"data_path", "peers", "test_suite", "validate_loop"} <= folders
