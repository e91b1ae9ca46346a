import json

import pytest

from crvs_client import wire
from crvs_client.errors import BadRequest, Conflict, Forbidden, ProtocolError, ServerError, Unauthorized

pytestmark = pytest.mark.unit


def test_batch_body_and_query_params_round_trip():
    params = wire.query_params({"eventId": "e1"})
    assert params["batch"] == "1"
    assert json.loads(params["input"]) == {"0": {"json": {"eventId": "e1"}}}


def test_unwrap_success():
    body = json.dumps([{"result": {"data": {"json": {"id": "x"}}}}])
    assert wire.unwrap_trpc("event.get", 200, body) == {"id": "x"}


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [(400, "BAD_REQUEST", BadRequest), (401, "UNAUTHORIZED", Unauthorized), (403, "FORBIDDEN", Forbidden),
     (409, "CONFLICT", Conflict), (500, "INTERNAL_SERVER_ERROR", ServerError)],
)
def test_unwrap_error_is_typed_and_names_procedure(status, code, cls):
    body = json.dumps([{"error": {"json": {"message": "nope", "code": -32600,
                                           "data": {"code": code, "httpStatus": status, "fields": ["child.dob"]}}}}])
    with pytest.raises(cls) as info:
        wire.unwrap_trpc("event.actions.declare.request", status, body)
    assert info.value.status == status
    assert info.value.fields == ("child.dob",)
    assert "event.actions.declare.request" in str(info.value)


@pytest.mark.parametrize("text", ["<html>", "{}", "[]", '[{"result": {}}]'])
def test_unwrap_non_trpc_answer_is_protocol_error(text):
    with pytest.raises(ProtocolError):
        wire.unwrap_trpc("event.search", 200, text)


def test_unwrap_rest_error_carries_fields():
    with pytest.raises(BadRequest) as info:
        wire.unwrap_rest("event.search", 400, json.dumps({"message": "bad", "fields": ["limit"]}))
    assert info.value.fields == ("limit",)


def test_plain_text_500_is_server_error():
    with pytest.raises(ServerError):
        wire.unwrap_trpc("event.search", 502, "Bad Gateway")


def test_validation_error_fields_come_from_opencrvs_message():
    message = json.dumps([{"message": "Required", "id": "mother.address", "value": None},
                          {"message": "Invalid", "id": "child.dob", "value": "x"}])
    body = json.dumps([{"error": {"json": {"message": message, "code": -32600,
                                           "data": {"code": "BAD_REQUEST", "httpStatus": 400}}}}])
    with pytest.raises(BadRequest) as info:
        wire.unwrap_trpc("event.actions.declare.request", 400, body)
    assert info.value.fields == ("mother.address", "child.dob")
    assert wire.validation_fields("Field with id foo not found") == ()


def test_402_is_rate_limited():
    from crvs_client import RateLimited

    with pytest.raises(RateLimited):
        wire.unwrap_rest("auth.authenticate", 402, json.dumps({"message": "Too many requests"}))


def test_multipart_body_names_file_and_transaction():
    from crvs_client.client import multipart

    body, ctype = multipart({"transactionId": "t1"}, "file", "s.png", b"\x89PNG", "image/png")
    boundary = ctype.split("boundary=")[1]
    assert ctype.startswith("multipart/form-data; boundary=")
    assert body.count(f"--{boundary}".encode()) == 3 and body.endswith(f"--{boundary}--\r\n".encode())
    assert b'name="transactionId"\r\n\r\nt1' in body and b'filename="s.png"' in body and b"\x89PNG" in body
