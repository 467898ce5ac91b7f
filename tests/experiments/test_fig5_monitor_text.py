"""fig5's "Why:" compares each workload's monitor share with the paper's, whichever way it lies."""
from flashvm.experiments import catalog


def test_monitor_share_is_said_to_be_below_or_above_the_papers():
    t = {("pmake/disco", "monitor"): 3.0, ("database/disco", "monitor"): 30.0}
    said = catalog._monitor_vs_paper(t, "pmake", "database", "raytrace")
    assert "pmake's monitor takes 3.0 of the bare time's 100 against the paper's 24.1 (less)" in said
    assert "database's monitor takes 30.0" in said and "(more)" in said
    assert "raytrace" not in said        # no run, no sentence
    assert catalog._monitor_vs_paper({}, "pmake") == ""
