"""Shared counters (core/throttle.py) on a real database: what every worker sees, limits, pruning."""

from farmtrace.services.throttle import PRUNE_AFTER, Throttle, Window
from farmtrace.storage.engine import make_engine

MINUTE = Window(limit=5, seconds=60)
NOW = 1_790_000_000.0  # a fixed moment, 20 s into its minute


def _rows(engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM throttle_counts").scalar())


def test_two_engines_on_one_database_see_the_same_counts(db_url) -> None:
    one, two = make_engine(db_url), make_engine(db_url)
    first, second = Throttle(one), Throttle(two)
    try:
        assert first.add("login_addr", "k", MINUTE, now=NOW) == 1
        assert second.add("login_addr", "k", MINUTE, now=NOW + 1) == 2
        assert first.count("login_addr", "k", MINUTE, now=NOW + 2) == 2
        assert second.count("login_addr", "other", MINUTE, now=NOW) == 0
        assert first.count("login_addr", "k", MINUTE, now=NOW + 60) == 2  # the previous window still counts
        assert first.count("login_addr", "k", MINUTE, now=NOW + 120) == 0
    finally:
        for counters, engine in ((first, one), (second, two)):
            counters.close()
            engine.dispose()


def test_a_count_that_would_pass_its_limit_in_this_or_the_last_window_is_refused_whole(db_url) -> None:
    engine = make_engine(db_url)
    counters = Throttle(engine)
    try:
        assert counters.add("appends", "t", MINUTE, 3, limit=5, now=NOW) == 3
        assert counters.add("appends", "t", MINUTE, 3, limit=5, now=NOW) is None
        assert counters.add("appends", "t", MINUTE, 6, limit=5, now=NOW + 60) is None
        assert counters.add("appends", "t", MINUTE, 2, limit=5, now=NOW) == 5
        assert counters.wait("appends", "t", MINUTE, 1, now=NOW) == 40 + 60  # full now, and still next minute
        assert counters.add("appends", "t", MINUTE, 1, limit=5, now=NOW + 60) is None
        assert counters.add("appends", "t", MINUTE, 1, limit=5, now=NOW + 120) == 1
    finally:
        counters.close()
        engine.dispose()


def test_rows_of_long_finished_windows_are_pruned_when_a_new_window_starts(db_url) -> None:
    engine = make_engine(db_url)
    counters = Throttle(engine)
    try:
        for key in ("a", "b", "c"):
            counters.add("token_fail", key, MINUTE, now=NOW)
        assert _rows(engine) == 3
        counters.add("token_fail", "a", MINUTE, now=NOW + 30)  # same window: nothing pruned
        assert _rows(engine) == 3
        counters.add("token_fail", "d", MINUTE, now=NOW + 60 + PRUNE_AFTER + 60)
        assert _rows(engine) == 1
    finally:
        counters.close()
        engine.dispose()
