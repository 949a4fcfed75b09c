"""Which worker is which on its node, across several nodes (one node here, so the rule is tested directly)."""

import pytest

from mpismac.runtime.placement import local_index, trial_variables

pytestmark = pytest.mark.fast


def test_local_index_counts_workers_per_node_and_skips_the_manager():
    hosts = ["a", "a", "a", "b", "b", "a", "b"]  # rank 0 (manager) on a
    assert [local_index(hosts, r) for r in range(1, 7)] == [0, 1, 0, 1, 2, 2]


def test_gpus_only_when_asked():
    assert trial_variables(3, 1, 0) == {"MPISMAC_WORKER": "3", "MPISMAC_LOCAL_RANK": "1"}
    assert trial_variables(3, 1, 2)["CUDA_VISIBLE_DEVICES"] == "2,3"
