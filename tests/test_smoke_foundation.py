import pytest

from tests.conftest import error_code


@pytest.mark.django_db
def test_unknown_route_answers_envelope(client):
    response = client.get("/v1/nope")
    assert response.status_code == 404
    assert error_code(response) == "not_found"
