"""Which store failures a retry cures: fixed answers per SQLSTATE, from PostgreSQL's table
of error codes (Appendix A), not from the code under test."""

import pytest

from hub.store.outage import is_transient
from tests.unit.fakes import store_refusal


@pytest.mark.parametrize(
    ("sqlstate", "cured_by_a_retry"),
    [
        # The store's state: mended by the store or an operator, then the same write works.
        ("53100", True),  # disk_full
        ("53200", True),  # out_of_memory
        ("53300", True),  # too_many_connections
        ("25006", True),  # read_only_sql_transaction: a failover or maintenance
        ("57014", True),  # query_canceled: statement_timeout, pg_cancel_backend
        ("57P01", True),  # admin_shutdown
        ("57P05", True),  # idle_session_timeout
        ("25P03", True),  # idle_in_transaction_session_timeout
        ("08006", True),  # connection_failure
        ("08007", True),  # transaction_resolution_unknown
        ("40001", True),  # serialization_failure
        ("40P01", True),  # deadlock_detected
        ("58030", True),  # io_error
        ("XX001", True),  # data_corrupted
        ("XX002", True),  # index_corrupted
        # The data: the same write is refused again, however often it is tried.
        ("23505", False),  # unique_violation
        ("23514", False),  # check_violation
        ("22001", False),  # string_data_right_truncation
        ("22P02", False),  # invalid_text_representation
        ("42P01", False),  # undefined_table
        ("08P01", False),  # protocol_violation: asyncpg's answer to a NUL in a value
    ],
)
def test_a_failure_is_worth_a_retry_only_when_the_stores_state_refused_not_the_data(
    sqlstate: str, cured_by_a_retry: bool
) -> None:
    assert is_transient(store_refusal(sqlstate)) is cured_by_a_retry
