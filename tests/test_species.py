import pytest

from anuraflow.data.species import assign_groups, frequency_group, species_table

THRESHOLDS = {"frequent_min_windows": 10000, "common_min_windows": 5000}


def test_frequency_group_boundaries():
    # Mix2: frequent > 10k windows, common 5k-10k, rare < 5k
    assert frequency_group(10001, 10000, 5000) == "frequent"
    assert frequency_group(10000, 10000, 5000) == "common"
    assert frequency_group(5000, 10000, 5000) == "common"
    assert frequency_group(4999, 10000, 5000) == "rare"


def test_table_group_wins_over_counts():
    table = species_table(
        [{"code": "A", "group": "rare"}, {"code": "B"}, {"code": "C", "name": "Cname"}]
    )
    assert table["name"].tolist() == ["A", "B", "Cname"]
    groups = assign_groups(table, {"A": 20000, "B": 20000}, THRESHOLDS)
    assert groups == {"A": "rare", "B": "frequent", "C": "rare"}


def test_duplicate_codes_rejected():
    with pytest.raises(ValueError, match="twice: A"):
        species_table([{"code": "A"}, {"code": "A"}])
