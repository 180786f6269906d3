"""Call a gateway method knowing only its name, the way grpcurl does.

No generated stubs: the method's request and response types, and the types of the
error details (`google.rpc.BadRequest`, `ErrorInfo`, `RetryInfo`), are all resolved
through the gateway's server reflection. This is what a newcomer's

    grpcurl -plaintext -d '{}' localhost:50051 qencode.gateway.v1.Transcoding/StartEncode

does, and it fails the same way grpcurl would if reflection left a type out.

    python examples/python/reflect_call.py --target localhost:50051 \
        qencode.gateway.v1.Transcoding/StartEncode '{}'

Prints the response as JSON, or the error with every detail decoded; exits 0 on a
response, 1 on an error status, 2 when a type cannot be resolved through reflection.
With --expect-code the error is what is expected (exit 0 only for that code).
"""

from __future__ import annotations

import argparse
import json
import sys

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)


def resolve(pool: descriptor_pool.DescriptorPool, full_method: str):
    """The method's descriptor, from reflection alone."""
    service_name, _, method_name = full_method.rpartition("/")
    service = pool.FindServiceByName(service_name)
    method = service.methods_by_name.get(method_name)
    if method is None:
        raise KeyError(f"{service_name} has no method {method_name}")
    return method


def describe_error(pool: descriptor_pool.DescriptorPool, error: grpc.RpcError) -> dict:
    """The status with its details decoded through types resolved by reflection."""
    out = {"code": error.code().name, "message": error.details(), "details": []}
    for key, value in error.trailing_metadata() or ():
        if key != "grpc-status-details-bin":
            continue
        status_type = pool.FindMessageTypeByName("google.rpc.Status")
        status = message_factory.GetMessageClass(status_type)()
        status.ParseFromString(value)
        for detail in status.details:
            name = detail.type_url.rsplit("/", 1)[-1]
            detail_type = pool.FindMessageTypeByName(name)
            message = message_factory.GetMessageClass(detail_type)()
            detail.Unpack(message)
            decoded = json_format.MessageToDict(message, descriptor_pool=pool)
            out["details"].append({"@type": detail.type_url, **decoded})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="localhost:50051")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument(
        "--expect-code",
        help="exit 0 only when the call fails with this code (e.g. INVALID_ARGUMENT)",
    )
    parser.add_argument("method", help="package.Service/Method")
    parser.add_argument("data", nargs="?", default="{}", help="request as JSON")
    args = parser.parse_args()

    with grpc.insecure_channel(args.target) as channel:
        pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
        try:
            method = resolve(pool, args.method)
        except KeyError as e:
            print(f"cannot resolve {args.method} through reflection: {e}", file=sys.stderr)
            return 2
        request_class = message_factory.GetMessageClass(method.input_type)
        response_class = message_factory.GetMessageClass(method.output_type)
        request = json_format.Parse(args.data, request_class(), descriptor_pool=pool)
        call = channel.unary_unary(
            f"/{args.method}",
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )
        try:
            response = call(request, timeout=args.timeout)
        except grpc.RpcError as error:
            try:
                described = describe_error(pool, error)
            except KeyError as e:
                print(f"cannot decode the error details through reflection: {e}", file=sys.stderr)
                return 2
            print(json.dumps({"error": described}, indent=2))
            if args.expect_code:
                return 0 if described["code"] == args.expect_code else 1
            return 1
        print(json_format.MessageToJson(response, descriptor_pool=pool))
        return 1 if args.expect_code else 0


if __name__ == "__main__":
    sys.exit(main())
