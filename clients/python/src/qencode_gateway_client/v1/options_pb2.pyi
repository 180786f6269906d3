from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor
JSON_UNWRAP_FIELD_NUMBER: _ClassVar[int]
json_unwrap: _descriptor.FieldDescriptor
JSON_ONE_OR_MANY_FIELD_NUMBER: _ClassVar[int]
json_one_or_many: _descriptor.FieldDescriptor
