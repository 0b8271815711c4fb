# The `occupancy` section, checked when the DAG is built: its output folder, what the report
# reads of it, what the target makes. Rules in occupancy.smk.


def occupancy_setup():
    """The `occupancy` section's output folder; None without the section."""
    if config.get("occupancy") is None:
        return None
    if not PREDICT:
        raise WorkflowError(
            "occupancy: needs a 'predict' section (the archive whose detections it models)"
        )
    return f"{PREDICT_DIR}/occupancy"


OCCUPANCY_DIR = occupancy_setup()


def occupancy_report_files():
    """What the report's occupancy section reads: the estimates, their figure, the heat
    maps, and call density where validate ran."""
    if not OCCUPANCY_DIR:
        return []
    names = ["estimates.csv", "occupancy.png", "histories.png"]
    names += ["call_density.csv"] if VALIDATE_DIR else []
    return [f"{OCCUPANCY_DIR}/{name}" for name in names]


def occupancy_targets():
    """Everything `occupancy` makes; an error without an `occupancy` section."""
    if not OCCUPANCY_DIR:
        raise WorkflowError(
            "the target 'occupancy' needs an 'occupancy' section and a 'predict' section in "
            "the config (see docs/detection.md)"
        )
    return [*occupancy_report_files(), f"{OCCUPANCY_DIR}/site_presence.csv"]
