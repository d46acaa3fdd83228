#!/usr/bin/python3
"""Compile .proto files into one FileDescriptorSet (with imports).

Usage: descriptor-set.py PROTOC PROTO_ROOT OUTPUT PROTO...
protoc needs the file names to start with the include path literally, so
every path is made absolute first.
"""
import os
import subprocess
import sys

protoc, root, output, *protos = sys.argv[1:]
root = os.path.abspath(root)
subprocess.run([protoc, f"-I{root}", "--include_imports", f"--descriptor_set_out={output}"]
               + [os.path.abspath(p) for p in protos], check=True)
