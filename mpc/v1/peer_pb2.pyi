from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Hello(_message.Message):
    __slots__ = ("sender", "wire_version")
    SENDER_FIELD_NUMBER: _ClassVar[int]
    WIRE_VERSION_FIELD_NUMBER: _ClassVar[int]
    sender: int
    wire_version: int
    def __init__(self, sender: _Optional[int] = ..., wire_version: _Optional[int] = ...) -> None: ...

class Frame(_message.Message):
    __slots__ = ("job_id", "tag", "sender", "chunk_index", "chunk_count", "total_bytes", "payload")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_INDEX_FIELD_NUMBER: _ClassVar[int]
    CHUNK_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    tag: str
    sender: int
    chunk_index: int
    chunk_count: int
    total_bytes: int
    payload: bytes
    def __init__(self, job_id: _Optional[str] = ..., tag: _Optional[str] = ..., sender: _Optional[int] = ..., chunk_index: _Optional[int] = ..., chunk_count: _Optional[int] = ..., total_bytes: _Optional[int] = ..., payload: _Optional[bytes] = ...) -> None: ...

class PeerError(_message.Message):
    __slots__ = ("job_id", "tag", "code", "message")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    tag: str
    code: str
    message: str
    def __init__(self, job_id: _Optional[str] = ..., tag: _Optional[str] = ..., code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class PeerMessage(_message.Message):
    __slots__ = ("hello", "batch", "error")
    HELLO_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    hello: Hello
    batch: Batch
    error: PeerError
    def __init__(self, hello: _Optional[_Union[Hello, _Mapping]] = ..., batch: _Optional[_Union[Batch, _Mapping]] = ..., error: _Optional[_Union[PeerError, _Mapping]] = ...) -> None: ...

class Batch(_message.Message):
    __slots__ = ("frames",)
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    frames: _containers.RepeatedCompositeFieldContainer[Frame]
    def __init__(self, frames: _Optional[_Iterable[_Union[Frame, _Mapping]]] = ...) -> None: ...

class JobSpecMessage(_message.Message):
    __slots__ = ("job_id", "spec_json", "spec_hash", "coordinator")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SPEC_JSON_FIELD_NUMBER: _ClassVar[int]
    SPEC_HASH_FIELD_NUMBER: _ClassVar[int]
    COORDINATOR_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    spec_json: str
    spec_hash: bytes
    coordinator: int
    def __init__(self, job_id: _Optional[str] = ..., spec_json: _Optional[str] = ..., spec_hash: _Optional[bytes] = ..., coordinator: _Optional[int] = ...) -> None: ...

class PrepareReply(_message.Message):
    __slots__ = ("ok", "error", "spec_hash")
    OK_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SPEC_HASH_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    error: str
    spec_hash: bytes
    def __init__(self, ok: _Optional[bool] = ..., error: _Optional[str] = ..., spec_hash: _Optional[bytes] = ...) -> None: ...

class JobRef(_message.Message):
    __slots__ = ("job_id", "reason", "error_party", "error_kind")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ERROR_PARTY_FIELD_NUMBER: _ClassVar[int]
    ERROR_KIND_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    reason: str
    error_party: int
    error_kind: str
    def __init__(self, job_id: _Optional[str] = ..., reason: _Optional[str] = ..., error_party: _Optional[int] = ..., error_kind: _Optional[str] = ...) -> None: ...

class Ack(_message.Message):
    __slots__ = ("ok", "error")
    OK_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    error: str
    def __init__(self, ok: _Optional[bool] = ..., error: _Optional[str] = ...) -> None: ...

class PingRequest(_message.Message):
    __slots__ = ("sender", "payload")
    SENDER_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    sender: int
    payload: bytes
    def __init__(self, sender: _Optional[int] = ..., payload: _Optional[bytes] = ...) -> None: ...

class PingReply(_message.Message):
    __slots__ = ("responder", "role", "payload")
    RESPONDER_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    responder: int
    role: str
    payload: bytes
    def __init__(self, responder: _Optional[int] = ..., role: _Optional[str] = ..., payload: _Optional[bytes] = ...) -> None: ...
