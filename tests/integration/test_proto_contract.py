"""Descriptor check of proto/*.proto against spec/api.md (api.md section 7, item 1).

proto/*.proto is compiled with protoc into a FileDescriptorSet and every service,
RPC, message, field and enum value is compared with the hand-transcribed tables
in api_contract.py. One test per service, so a failure names the service and
lists every difference found in it.

Run: /usr/bin/python3 -m pytest tests/integration/test_proto_contract.py
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import api_contract as contract  # noqa: E402

REPO = HERE.parent.parent
PROTO_DIR = REPO / "proto"
PROTOC = os.environ.get("PROTOC", "/usr/bin/protoc")

FDP = descriptor_pb2.FieldDescriptorProto
SCALARS = {
    FDP.TYPE_DOUBLE: "double", FDP.TYPE_FLOAT: "float", FDP.TYPE_INT64: "int64",
    FDP.TYPE_UINT64: "uint64", FDP.TYPE_INT32: "int32", FDP.TYPE_FIXED64: "fixed64",
    FDP.TYPE_FIXED32: "fixed32", FDP.TYPE_BOOL: "bool", FDP.TYPE_STRING: "string",
    FDP.TYPE_BYTES: "bytes", FDP.TYPE_UINT32: "uint32", FDP.TYPE_SFIXED32: "sfixed32",
    FDP.TYPE_SFIXED64: "sfixed64", FDP.TYPE_SINT32: "sint32", FDP.TYPE_SINT64: "sint64",
}


def compile_protos(files):
    """Run protoc on `files` (paths relative to proto/), return the FileDescriptorSet."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "set.pb"
        cmd = [PROTOC, f"--descriptor_set_out={out}", f"-I{PROTO_DIR}"] + \
              [str(PROTO_DIR / f) for f in files]
        res = subprocess.run(cmd, capture_output=True, text=True)
        assert res.returncode == 0, f"protoc failed: {' '.join(cmd)}\n{res.stderr}"
        assert res.stderr.strip() == "", f"protoc warnings:\n{res.stderr}"
        fds = descriptor_pb2.FileDescriptorSet()
        fds.ParseFromString(out.read_bytes())
        return fds


@pytest.fixture(scope="module")
def our_set():
    files = sorted(p.name for p in PROTO_DIR.glob("*.proto"))
    assert files, f"no .proto files in {PROTO_DIR}"
    return compile_protos(files)


@pytest.fixture(scope="module")
def standard_set():
    files = sorted(str(p.relative_to(PROTO_DIR)) for p in (PROTO_DIR / "grpc").rglob("*.proto"))
    assert files, f"no .proto files under {PROTO_DIR / 'grpc'}"
    return compile_protos(files)


# --------------------------------------------------------------------------
# Flatten a FileDescriptorProto into {dotted name relative to package: proto}
# --------------------------------------------------------------------------

def _walk(prefix, messages, enums, out_msgs, out_enums):
    for e in enums:
        out_enums[prefix + e.name] = e
    for m in messages:
        name = prefix + m.name
        out_msgs[name] = m
        _walk(name + ".", m.nested_type, m.enum_type, out_msgs, out_enums)


def flatten(fdp):
    msgs, enums = {}, {}
    _walk("", fdp.message_type, fdp.enum_type, msgs, enums)
    return msgs, enums


def actual_label(msg, field):
    """The api.md label of a descriptor field (see api_contract's notation)."""
    if field.label == FDP.LABEL_REPEATED:
        return contract.REPEATED
    if field.HasField("oneof_index"):
        oneof = msg.oneof_decl[field.oneof_index].name
        members = [f for f in msg.field if f.HasField("oneof_index")
                   and f.oneof_index == field.oneof_index]
        if oneof == "_" + field.name and len(members) == 1:
            return contract.OPTIONAL
        return contract.ONEOF(oneof)
    return contract.SINGULAR


def check_service(fds, svc):
    """Return a list of human-readable differences between `fds` and `svc`."""
    errors = []
    pkg = svc.package
    files = [f for f in fds.file if f.package == pkg]
    if len(files) != 1:
        return [f"expected exactly one file with package {pkg}, found "
                f"{[f.name for f in files]}"]
    fdp = files[0]
    where = f"{fdp.name} (package {pkg})"

    # File-level rules (api.md 1.1): proto3, no imports, nothing but our types.
    if fdp.syntax != "proto3":
        errors.append(f"{where}: syntax is {fdp.syntax!r}, want 'proto3'")
    if list(fdp.dependency):
        errors.append(f"{where}: imports {list(fdp.dependency)}, want none")
    if len(fdp.extension):
        errors.append(f"{where}: declares extensions")

    msgs, enums = flatten(fdp)

    def resolve(tname):
        """Expected type name -> ('message'|'enum', '.pkg.Name')."""
        if tname in svc.messages:
            return "message", f".{pkg}.{tname}"
        if tname in svc.enums:
            return "enum", f".{pkg}.{tname}"
        raise AssertionError(f"api_contract: unknown type {tname!r} in {pkg}")

    # ---- service and RPCs ------------------------------------------------
    services = {s.name: s for s in fdp.service}
    if set(services) != {svc.name}:
        errors.append(f"{where}: services {sorted(services)}, want [{svc.name!r}]")
    s = services.get(svc.name)
    if s is not None:
        got = {m.name: m for m in s.method}
        want = {r.name: r for r in svc.rpcs}
        for name in sorted(set(want) - set(got)):
            errors.append(f"{pkg}.{svc.name}: missing RPC {name}")
        for name in sorted(set(got) - set(want)):
            errors.append(f"{pkg}.{svc.name}: extra RPC {name}")
        for name in sorted(set(got) & set(want)):
            m, r = got[name], want[name]
            rpc = f"{pkg}.{svc.name}/{name}"
            if m.input_type != resolve(r.request)[1]:
                errors.append(f"{rpc}: request {m.input_type}, want {resolve(r.request)[1]}")
            if m.output_type != resolve(r.response)[1]:
                errors.append(f"{rpc}: response {m.output_type}, want {resolve(r.response)[1]}")
            if bool(m.client_streaming) != r.client_streaming:
                errors.append(f"{rpc}: client_streaming {m.client_streaming}, "
                              f"want {r.client_streaming}")
            if bool(m.server_streaming) != r.server_streaming:
                errors.append(f"{rpc}: server_streaming {m.server_streaming}, "
                              f"want {r.server_streaming}")
        # api.md 6.5: new RPCs are appended at the end of the service.
        order = [m.name for m in s.method]
        ext = {r.name for r in svc.rpcs if r.ext}
        base_pos = [i for i, n in enumerate(order) if n in want and n not in ext]
        ext_pos = [i for i, n in enumerate(order) if n in ext]
        if base_pos and ext_pos and min(ext_pos) < max(base_pos):
            errors.append(f"{pkg}.{svc.name}: EXT RPCs {sorted(ext)} must come after "
                          f"every reference RPC; order is {order}")

    # ---- enums -----------------------------------------------------------
    for name in sorted(set(svc.enums) - set(enums)):
        errors.append(f"{pkg}: missing enum {name}")
    for name in sorted(set(enums) - set(svc.enums)):
        errors.append(f"{pkg}: extra enum {name}")
    for name in sorted(set(enums) & set(svc.enums)):
        got = [(v.name, v.number) for v in enums[name].value]
        want = [(v.name, v.number) for v in svc.enums[name]]
        for vname, num in sorted(set(want) - set(got), key=lambda x: x[1]):
            errors.append(f"{pkg}.{name}: missing value {vname} = {num}")
        for vname, num in sorted(set(got) - set(want), key=lambda x: x[1]):
            errors.append(f"{pkg}.{name}: extra or wrong value {vname} = {num}")
        if len(got) != len(set(got)):
            errors.append(f"{pkg}.{name}: duplicate values {got}")
        if enums[name].options.allow_alias:
            errors.append(f"{pkg}.{name}: allow_alias must not be set")
        # api.md 6.5: new enum values take new, higher numbers.
        base = [v.number for v in svc.enums[name] if not v.ext]
        for v in svc.enums[name]:
            if v.ext and base and v.number <= max(base):
                errors.append(f"api_contract: EXT value {pkg}.{name}.{v.name} = {v.number} "
                              f"is not above the reference numbers")

    # ---- messages and fields ----------------------------------------------
    for name in sorted(set(svc.messages) - set(msgs)):
        errors.append(f"{pkg}: missing message {name}")
    for name in sorted(set(msgs) - set(svc.messages)):
        errors.append(f"{pkg}: extra message {name}")
    for name in sorted(set(msgs) & set(svc.messages)):
        msg = msgs[name]
        mname = f"{pkg}.{name}"
        got = {f.name: f for f in msg.field}
        want = {f.name: f for f in svc.messages[name]}
        for fname in sorted(set(want) - set(got)):
            w = want[fname]
            errors.append(f"{mname}: missing field {fname} = {w.number} ({w.label} {w.type})")
        for fname in sorted(set(got) - set(want)):
            errors.append(f"{mname}: extra field {fname} = {got[fname].number}")
        for fname in sorted(set(got) & set(want)):
            f, w = got[fname], want[fname]
            fq = f"{mname}.{fname}"
            if f.number != w.number:
                errors.append(f"{fq}: number {f.number}, want {w.number}")
            if w.type in SCALARS.values():
                if f.type not in SCALARS or SCALARS[f.type] != w.type:
                    got_t = SCALARS.get(f.type, f.type_name or f.type)
                    errors.append(f"{fq}: type {got_t}, want {w.type}")
            else:
                kind, tname = resolve(w.type)
                want_kind = FDP.TYPE_MESSAGE if kind == "message" else FDP.TYPE_ENUM
                if f.type != want_kind or f.type_name != tname:
                    got_t = f.type_name or SCALARS.get(f.type, f.type)
                    errors.append(f"{fq}: type {got_t}, want {tname} ({kind})")
            label = actual_label(msg, f)
            if label != w.label:
                errors.append(f"{fq}: label {label!r}, want {w.label!r}")
            # api.md 1.2: no proto3 `optional` (protoc-c 1.4.1 rejects it).
            if f.proto3_optional:
                errors.append(f"{fq}: uses proto3 `optional`; write `oneof _{fname} {{ ... }}`")
            if f.HasField("default_value"):
                errors.append(f"{fq}: has a default value")
        # Every oneof named `_x` must hold exactly the field x (api.md 1.2), and
        # every oneof must be one the contract asks for.
        want_oneofs = {w.label[len("oneof "):] for w in svc.messages[name]
                       if w.label.startswith("oneof ")}
        want_oneofs |= {"_" + w.name for w in svc.messages[name] if w.label == contract.OPTIONAL}
        for idx, od in enumerate(msg.oneof_decl):
            members = [f.name for f in msg.field
                       if f.HasField("oneof_index") and f.oneof_index == idx]
            if od.name.startswith("_") and members != [od.name[1:]]:
                errors.append(f"{mname}: oneof {od.name} holds {members}, "
                              f"want only [{od.name[1:]!r}]")
            if od.name not in want_oneofs:
                errors.append(f"{mname}: unexpected oneof {od.name} {members}")
        # api.md 6.5: extension fields take numbers above the reference ones.
        base = [w.number for w in svc.messages[name] if not w.ext]
        for w in svc.messages[name]:
            if w.ext and base and w.number <= max(base):
                errors.append(f"api_contract: EXT field {mname}.{w.name} = {w.number} "
                              f"is not above the reference numbers")
    return errors


def _fail_if(errors, what):
    if errors:
        pytest.fail(f"{len(errors)} difference(s) in {what}:\n  " + "\n  ".join(errors),
                    pytrace=False)


@pytest.mark.parametrize("svc", contract.SERVICES, ids=lambda s: f"{s.package}.{s.name}")
def test_service_matches_api_md(our_set, svc):
    _fail_if(check_service(our_set, svc), f"{svc.package}.{svc.name}")


def test_no_unexpected_files(our_set):
    """proto/*.proto holds exactly our four packages, one file each."""
    got = sorted(f.package for f in our_set.file)
    want = sorted(s.package for s in contract.SERVICES)
    assert got == want


@pytest.mark.parametrize("svc", contract.STANDARD_SERVICES,
                         ids=lambda s: f"{s.package}.{s.name}")
def test_standard_grpc_service(standard_set, svc):
    """Health and reflection protos keep the upstream names and numbers."""
    _fail_if(check_service(standard_set, svc), f"{svc.package}.{svc.name}")
