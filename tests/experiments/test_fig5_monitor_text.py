"""fig5's "Why:" compares each workload's monitor share with the paper's, whichever way it lies."""
from flashvm.experiments import catalog


def test_monitor_share_is_said_to_be_below_or_above_the_papers():
    t = {("pmake/disco", "monitor"): 3.0, ("database/disco", "monitor"): 30.0}
    said = catalog._monitor_vs_paper(t, "pmake", "database", "raytrace")
    assert "pmake's monitor takes 3.0 of the bare time's 100 against the paper's 24.1 (less)" in said
    assert "database's monitor takes 30.0" in said and "(more)" in said
    assert "raytrace" not in said        # no run, no sentence
    assert catalog._monitor_vs_paper({}, "pmake") == ""


def test_pmake_database_why_compares_their_tlb_pressure_from_the_counters():
    t = {("pmake/disco", "tlb_refills_per_minsn"): 3000.0, ("database/disco", "tlb_refills_per_minsn"): 400.0,
         ("pmake/disco", "emulated_per_minsn"): 600.0, ("database/disco", "emulated_per_minsn"): 150.0}
    said = catalog._pmake_database_why(t)
    assert "refills the TLB 7.5 times as often per instruction as database's" in said
    assert "emulate 4.0 times as many privileged instructions" in said
    assert "exceptionally high TLB miss rate" in said
    assert "refills the TLB n/a times" in catalog._pmake_database_why({})
