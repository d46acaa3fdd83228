#!/usr/bin/python3
"""Run protoc-c on one .proto and write its output under flat file names.

meson wants generated files directly in the build directory, while
protoc-c mirrors the proto's directory (grpc/health/v1/health.pb-c.c).
Usage: protoc-c-flat.py PROTOC_C PROTO_ROOT PROTO OUT_C OUT_H
"""
import os
import subprocess
import sys
import tempfile

protoc_c, root, proto, out_c, out_h = sys.argv[1:6]
root, proto = os.path.abspath(root), os.path.abspath(proto)
rel = os.path.relpath(proto, root)
stem = rel[: -len(".proto")]
flat_h = os.path.basename(out_h)

with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([protoc_c, f"--c_out={tmp}", f"-I{root}", proto], check=True)
    for src, dst in ((f"{stem}.pb-c.c", out_c), (f"{stem}.pb-c.h", out_h)):
        with open(os.path.join(tmp, src)) as f:
            text = f.read()
        text = text.replace(f'#include "{stem}.pb-c.h"', f'#include "{flat_h}"')
        with open(dst, "w") as f:
            f.write(text)
