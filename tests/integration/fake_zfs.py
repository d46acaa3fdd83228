#!/usr/bin/python3
"""A stand-in for the `zfs` program with zvols (OpenZFS), for the golden
tests of mvirt-zfs's zvol layout: zfs-fuse, the only ZFS these machines
run, has no zvols. It is a MOCK: it keeps a small model of datasets in a
JSON file (env FAKE_ZFS_STATE), appends every argument vector it is run
with to FAKE_ZFS_LOG (one JSON list per line), creates a regular file as
the "device node" of each zvol below FAKE_ZFS_DEVROOT, and answers the
subset of zfs that mvirt-zfs uses with OpenZFS's exit codes and messages.
"""
import fcntl
import json
import os
import sys

STATE = os.environ["FAKE_ZFS_STATE"]
LOG = os.environ["FAKE_ZFS_LOG"]
DEVROOT = os.environ["FAKE_ZFS_DEVROOT"]


def fail(msg, code=1):
    sys.stderr.write(msg + "\n")
    sys.exit(code)


def parse_size(s):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    return int(s[:-1]) * units[s[-1]] if s[-1] in units else int(s)


def devnode(name, size):
    path = os.path.join(DEVROOT, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "ab") as f:
        f.truncate(size)


def props_of(ds, name):
    snap = "@" in name
    p = {
        "type": ds["type"],
        "used": 4096 if snap else 65536,
        "available": 0 if snap else 10 << 30,
        "compressratio": "1.00x",
        "origin": ds.get("origin") or "-",
        "defer_destroy": "off" if snap else "-",
        "mountpoint": ds.get("mountpoint", "-"),
    }
    if ds["type"] == "volume" or (snap and ds.get("volsize")):
        p["volsize"] = ds["volsize"]
        p["volblocksize"] = ds.get("volblocksize", 16384)
    else:
        p["recordsize"] = 131072
    return p


def main(argv, state):
    ds = state["datasets"]
    cmd, args = argv[0], argv[1:]
    if cmd == "get":
        recursive = "-r" in args
        rest = [a for a in args if a not in ("-Hp", "-r", "-H", "-p")]
        assert rest[0] == "-o"
        cols, props, target = rest[1], rest[2].split(","), rest[3]
        if target not in ds:
            fail(f"cannot open '{target}': dataset does not exist")
        names = [n for n in sorted(ds) if n == target or (recursive and (
            n.startswith(target + "/") or n.startswith(target + "@")))]
        for n in names:
            p = props_of(ds[n], n)
            for prop in props:
                if prop not in p:
                    continue
                if cols == "value":
                    print(p[prop])
                else:
                    print(f"{n}\t{prop}\t{p[prop]}")
        return
    if cmd == "create":
        opts, volsize, bs, sparse = {}, None, 16384, False
        i = 0
        while i < len(args) - 1:
            a = args[i]
            if a == "-s":
                sparse = True
            elif a == "-V":
                i += 1
                volsize = parse_size(args[i])
            elif a == "-b":
                i += 1
                bs = int(args[i])
            elif a == "-o":
                i += 1
                k, v = args[i].split("=", 1)
                opts[k] = v
            i += 1
        name = args[-1]
        if name in ds:
            fail(f"cannot create '{name}': dataset already exists")
        parent = name.rsplit("/", 1)[0]
        if parent not in ds:
            fail(f"cannot create '{name}': parent does not exist")
        if volsize is not None:
            if volsize % bs:
                fail(f"cannot create '{name}': volume size must be a multiple of volume "
                     "block size")
            ds[name] = {"type": "volume", "volsize": volsize, "volblocksize": bs,
                        "sparse": sparse}
            devnode(name, volsize)
        else:
            ds[name] = {"type": "filesystem", "mountpoint": opts.get("mountpoint", "-")}
        return
    if cmd == "snapshot":
        name = args[0]
        base = name.split("@")[0]
        if base not in ds:
            fail(f"cannot open '{base}': dataset does not exist")
        ds[name] = {"type": "snapshot", "volsize": ds[base].get("volsize")}
        return
    if cmd == "clone":
        snap, name = args[-2], args[-1]
        if snap not in ds:
            fail(f"cannot open '{snap}': dataset does not exist")
        src = ds[snap.split("@")[0]]
        ds[name] = dict(src, origin=snap)
        if src["type"] == "volume":
            ds[name]["volsize"] = ds[snap]["volsize"]
            devnode(name, ds[name]["volsize"])
        return
    if cmd == "set":
        k, v = args[0].split("=", 1)
        ds[args[1]][k] = int(v) if k == "volsize" else v
        if k == "volsize":
            devnode(args[1], int(v))
        return
    if cmd == "destroy":
        name = args[-1]
        if name not in ds:
            fail(f"cannot open '{name}': dataset does not exist")
        doomed = [n for n in ds if n == name or ("-r" in args and (
            n.startswith(name + "@") or n.startswith(name + "/")))]
        for n in list(ds):
            if ds[n].get("origin", "").split("@")[0] in doomed and n not in doomed:
                fail(f"cannot destroy '{name}': filesystem has dependent clones")
        for n in doomed:
            del ds[n]
            p = os.path.join(DEVROOT, n)
            if os.path.exists(p):
                os.unlink(p)
        return
    if cmd in ("rollback", "promote"):
        if args[-1] not in ds:
            fail(f"cannot open '{args[-1]}': dataset does not exist")
        if cmd == "promote":
            # the clone takes over the origin's snapshots (names only, as here)
            d = ds[args[-1]]
            origin = d.pop("origin", None)
            if origin:
                parent = origin.split("@")[0]
                ds[parent]["origin"] = args[-1] + "@" + origin.split("@")[1]
                for n in list(ds):
                    if n.startswith(parent + "@"):
                        ds[args[-1] + "@" + n.split("@")[1]] = ds.pop(n)
        return
    fail(f"fake zfs: unsupported command {argv}", 2)


if __name__ == "__main__":
    with open(STATE + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(LOG, "a") as f:
            f.write(json.dumps(sys.argv[1:]) + "\n")
        try:
            with open(STATE) as f:
                st = json.load(f)
        except FileNotFoundError:
            st = {"datasets": {}}
        try:
            main(sys.argv[1:], st)
        finally:
            with open(STATE, "w") as f:
                json.dump(st, f)
