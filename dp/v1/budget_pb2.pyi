from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GrantRequest(_message.Message):
    __slots__ = ("principal", "dataset", "epsilon", "delta", "job_hash", "protocol", "ttl_seconds")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    EPSILON_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    JOB_HASH_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    principal: str
    dataset: str
    epsilon: float
    delta: float
    job_hash: bytes
    protocol: str
    ttl_seconds: int
    def __init__(self, principal: _Optional[str] = ..., dataset: _Optional[str] = ..., epsilon: _Optional[float] = ..., delta: _Optional[float] = ..., job_hash: _Optional[bytes] = ..., protocol: _Optional[str] = ..., ttl_seconds: _Optional[int] = ...) -> None: ...

class Grant(_message.Message):
    __slots__ = ("body", "signature")
    BODY_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    body: bytes
    signature: bytes
    def __init__(self, body: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class RedeemRequest(_message.Message):
    __slots__ = ("grant", "job_hash", "dataset")
    GRANT_FIELD_NUMBER: _ClassVar[int]
    JOB_HASH_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    grant: Grant
    job_hash: bytes
    dataset: str
    def __init__(self, grant: _Optional[_Union[Grant, _Mapping]] = ..., job_hash: _Optional[bytes] = ..., dataset: _Optional[str] = ...) -> None: ...

class RedeemReply(_message.Message):
    __slots__ = ("grant_id", "ledger_seq")
    GRANT_ID_FIELD_NUMBER: _ClassVar[int]
    LEDGER_SEQ_FIELD_NUMBER: _ClassVar[int]
    grant_id: str
    ledger_seq: int
    def __init__(self, grant_id: _Optional[str] = ..., ledger_seq: _Optional[int] = ...) -> None: ...

class StatusRequest(_message.Message):
    __slots__ = ("principal", "dataset")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    principal: str
    dataset: str
    def __init__(self, principal: _Optional[str] = ..., dataset: _Optional[str] = ...) -> None: ...

class Level(_message.Message):
    __slots__ = ("scope", "dataset", "total_limit", "total_spent", "period_limit", "period_spent", "period", "delta_limit", "delta_spent")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    TOTAL_LIMIT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SPENT_FIELD_NUMBER: _ClassVar[int]
    PERIOD_LIMIT_FIELD_NUMBER: _ClassVar[int]
    PERIOD_SPENT_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    DELTA_LIMIT_FIELD_NUMBER: _ClassVar[int]
    DELTA_SPENT_FIELD_NUMBER: _ClassVar[int]
    scope: str
    dataset: str
    total_limit: float
    total_spent: float
    period_limit: float
    period_spent: float
    period: str
    delta_limit: float
    delta_spent: float
    def __init__(self, scope: _Optional[str] = ..., dataset: _Optional[str] = ..., total_limit: _Optional[float] = ..., total_spent: _Optional[float] = ..., period_limit: _Optional[float] = ..., period_spent: _Optional[float] = ..., period: _Optional[str] = ..., delta_limit: _Optional[float] = ..., delta_spent: _Optional[float] = ...) -> None: ...

class StatusReply(_message.Message):
    __slots__ = ("levels",)
    LEVELS_FIELD_NUMBER: _ClassVar[int]
    levels: _containers.RepeatedCompositeFieldContainer[Level]
    def __init__(self, levels: _Optional[_Iterable[_Union[Level, _Mapping]]] = ...) -> None: ...

class PublicKeyRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PublicKeyReply(_message.Message):
    __slots__ = ("public_key",)
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    public_key: bytes
    def __init__(self, public_key: _Optional[bytes] = ...) -> None: ...
