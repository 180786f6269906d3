"""Generated from proto/qencode/gateway/v1 by clients/python/generate.py; do not edit."""
