from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SubmitJobRequest(_message.Message):
    __slots__ = ("protocol", "params_json", "inputs", "output_to", "parties", "timeout_s", "job_id")
    class InputsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: str
        def __init__(self, key: _Optional[int] = ..., value: _Optional[str] = ...) -> None: ...
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    PARAMS_JSON_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TO_FIELD_NUMBER: _ClassVar[int]
    PARTIES_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    protocol: str
    params_json: str
    inputs: _containers.ScalarMap[int, str]
    output_to: _containers.RepeatedScalarFieldContainer[int]
    parties: _containers.RepeatedScalarFieldContainer[int]
    timeout_s: float
    job_id: str
    def __init__(self, protocol: _Optional[str] = ..., params_json: _Optional[str] = ..., inputs: _Optional[_Mapping[int, str]] = ..., output_to: _Optional[_Iterable[int]] = ..., parties: _Optional[_Iterable[int]] = ..., timeout_s: _Optional[float] = ..., job_id: _Optional[str] = ...) -> None: ...

class SubmitJobReply(_message.Message):
    __slots__ = ("job_id", "spec_hash_hex")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SPEC_HASH_HEX_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    spec_hash_hex: str
    def __init__(self, job_id: _Optional[str] = ..., spec_hash_hex: _Optional[str] = ...) -> None: ...

class JobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class JobEvent(_message.Message):
    __slots__ = ("job_id", "state", "fraction", "message", "error", "error_party", "error_kind")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    FRACTION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_PARTY_FIELD_NUMBER: _ClassVar[int]
    ERROR_KIND_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    state: str
    fraction: float
    message: str
    error: str
    error_party: int
    error_kind: str
    def __init__(self, job_id: _Optional[str] = ..., state: _Optional[str] = ..., fraction: _Optional[float] = ..., message: _Optional[str] = ..., error: _Optional[str] = ..., error_party: _Optional[int] = ..., error_kind: _Optional[str] = ...) -> None: ...

class JobResult(_message.Message):
    __slots__ = ("job_id", "state", "result_json", "error", "bytes_sent", "bytes_received", "rounds", "seconds", "party", "spec_hash_hex", "error_party", "error_kind")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RESULT_JSON_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    BYTES_SENT_FIELD_NUMBER: _ClassVar[int]
    BYTES_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    ROUNDS_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    PARTY_FIELD_NUMBER: _ClassVar[int]
    SPEC_HASH_HEX_FIELD_NUMBER: _ClassVar[int]
    ERROR_PARTY_FIELD_NUMBER: _ClassVar[int]
    ERROR_KIND_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    state: str
    result_json: str
    error: str
    bytes_sent: int
    bytes_received: int
    rounds: int
    seconds: float
    party: int
    spec_hash_hex: str
    error_party: int
    error_kind: str
    def __init__(self, job_id: _Optional[str] = ..., state: _Optional[str] = ..., result_json: _Optional[str] = ..., error: _Optional[str] = ..., bytes_sent: _Optional[int] = ..., bytes_received: _Optional[int] = ..., rounds: _Optional[int] = ..., seconds: _Optional[float] = ..., party: _Optional[int] = ..., spec_hash_hex: _Optional[str] = ..., error_party: _Optional[int] = ..., error_kind: _Optional[str] = ...) -> None: ...

class CancelReply(_message.Message):
    __slots__ = ("ok", "state")
    OK_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    state: str
    def __init__(self, ok: _Optional[bool] = ..., state: _Optional[str] = ...) -> None: ...

class Empty(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ProtocolInfo(_message.Message):
    __slots__ = ("name", "version", "summary", "security", "needs_dealer")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    SECURITY_FIELD_NUMBER: _ClassVar[int]
    NEEDS_DEALER_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    summary: str
    security: str
    needs_dealer: bool
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ..., summary: _Optional[str] = ..., security: _Optional[str] = ..., needs_dealer: _Optional[bool] = ...) -> None: ...

class ProtocolList(_message.Message):
    __slots__ = ("protocols",)
    PROTOCOLS_FIELD_NUMBER: _ClassVar[int]
    protocols: _containers.RepeatedCompositeFieldContainer[ProtocolInfo]
    def __init__(self, protocols: _Optional[_Iterable[_Union[ProtocolInfo, _Mapping]]] = ...) -> None: ...

class DatasetInfo(_message.Message):
    __slots__ = ("name", "rows", "columns", "allowed_protocols")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_PROTOCOLS_FIELD_NUMBER: _ClassVar[int]
    name: str
    rows: int
    columns: _containers.RepeatedScalarFieldContainer[str]
    allowed_protocols: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., rows: _Optional[int] = ..., columns: _Optional[_Iterable[str]] = ..., allowed_protocols: _Optional[_Iterable[str]] = ...) -> None: ...

class DatasetList(_message.Message):
    __slots__ = ("party", "datasets")
    PARTY_FIELD_NUMBER: _ClassVar[int]
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    party: int
    datasets: _containers.RepeatedCompositeFieldContainer[DatasetInfo]
    def __init__(self, party: _Optional[int] = ..., datasets: _Optional[_Iterable[_Union[DatasetInfo, _Mapping]]] = ...) -> None: ...
