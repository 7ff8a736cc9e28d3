"""Test support: local S3 servers, gpg, sq/rnp, the fault proxy, Singer input and CLI helpers."""
