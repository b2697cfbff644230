"""Testing helpers shipped with opencases: the in-process mock and a live server.

    from opencases.testing import mock_connectcases

    @mock_connectcases()
    def test_domains():
        cases = boto3.client("connectcases")
        cases.create_domain(name="Support")

Importing this package installs the botocore hook that the mock uses (see mock.py); sessions
and clients created before the import are not served by the mock, so import it early (the
pytest plugin, loaded by pytest at start-up, does). `LiveServer` runs `opencases serve` in a
subprocess for tests that need real HTTP.
"""

from opencases.testing.mock import current_mock, mock_connectcases
from opencases.testing.server import LiveServer, free_port, make_client

__all__ = ["LiveServer", "current_mock", "free_port", "make_client", "mock_connectcases"]
