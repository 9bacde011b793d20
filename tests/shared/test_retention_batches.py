"""R-T4: how a retention run's report adds up over its batches (``aftersales_shared.retention``), pure."""

from __future__ import annotations

from aftersales_shared.retention import add_details, set_details


def test_R_T4_a_runs_counts_are_summed_over_its_batches_and_its_facts_are_the_last_batchs():
    run: dict = {"batches": 1, "finished_at": None}
    for moved, purged in (({"transitions": 4, "repairs": 1}, {"K1": 2}), ({"transitions": 3}, {"K2": 1})):
        run = set_details(add_details(run, {"rows_archived": moved, "purged_by_contract": purged,
                                            "contracts": {"K1": {"archived": 2}}}),
                          {"contracts": {"K1": {"cutoff": "2021-11-30", "retention_years": 5}}, "held": 3})
    assert run["rows_archived"] == {"transitions": 7, "repairs": 1}
    assert run["purged_by_contract"] == {"K1": 2, "K2": 1}
    assert run["contracts"] == {"K1": {"archived": 4, "cutoff": "2021-11-30", "retention_years": 5}}
    assert run["held"] == 3 and run["batches"] == 1  # a fact is set, never summed
    assert add_details({"flag": True}, {"flag": False}) == {"flag": False}  # a bool is no count
