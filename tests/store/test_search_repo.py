"""store/search_repo.py: the lookups a search page makes."""

from __future__ import annotations

from opencases.store.search_repo import _bucketed


def test_lists_are_padded_to_few_lengths_with_the_same_members() -> None:
    lengths = set()
    for n in range(0, 300):
        values = [f"c{i}" for i in range(n)]
        padded = _bucketed(values)
        assert set(padded) == set(values) and padded[:n] == values
        lengths.add(len(padded))
    # 300 list lengths become 11 (0, then 1, 2, 4, ... 512): 11 SQL texts per lookup.
    assert sorted(lengths) == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
