#!/usr/bin/python3
"""A MOCK of the cloud-hypervisor binary, for contract tests of mvirt-vmm's
cloud-hypervisor driver. It runs no guest: it checks the *contract*.

cloud-hypervisor cannot run on our build machines (KVM there cannot run a
64-bit guest), so the driver is tested against this stand-in. It behaves
like `cloud-hypervisor` as a VMM sees it, as read from cloud-hypervisor's
source (v54, cloud-hypervisor/src/main.rs, vmm/src/config.rs, vmm/src/lib.rs,
vmm/src/api/http/mod.rs) and its published API description (openapi.yaml):

* Command line: the options of `cloud-hypervisor --help`, with clap's rules
  (`--disk`, `--net`, ... take one or more values and may repeat; single-value
  options may not repeat; `--opt=value` works; VM options need `--kernel` or
  `--firmware`). Values are parsed like cloud-hypervisor's option parser
  (`key=value,...`, unknown keys rejected, on/off toggles, K/M/G sizes, MAC
  addresses) and checked like its config validation (vhost-user needs shared
  memory and a socket, max vCPUs >= boot vCPUs, unique ids, ids not starting
  with "__", power-of-two queue sizes...). Files named on the command line
  (kernel, initramfs, firmware, disks, vhost-user sockets) must exist.
  Usage errors exit 2 (clap's status, as the real binary); value and
  validation errors exit 1 with an error chain on stderr. Real options that
  mvirt does not use (--fs, --pmem, --vsock, ...) are refused with exit 1 and
  a message saying that the stand-in does not model them.
* With a payload (--kernel or --firmware) the VM is created and booted at
  once, as the real binary does; without one the VMM waits for vm.create.
* REST API on the --api-socket Unix socket (HTTP/1.1, /api/v1/<endpoint>).
  Every request is checked against openapi.yaml: the endpoint must exist,
  the method must be allowed, and the JSON body must match the request
  schema. Stricter than the real binary on purpose, so that driver bugs are
  loud rather than silently ignored:
    - every contract violation answers 400 (the real one answers 404 for an
      unknown endpoint and silently ignores unknown JSON properties, since its
      config structs do not use serde's deny_unknown_fields);
    - unknown properties, null values (the file declares nothing nullable),
      duplicate keys, a body on an endpoint without requestBody and chunked
      bodies are all violations.
  A violation's body is a JSON array of strings (the real error format) whose
  first line is "ch_standin: contract violation". The stand-in keeps serving.
* State machine and errors as the real VMM: Created/Running/Paused, 500 with
  an error chain on invalid transitions (pause of a paused VM, boot of a
  booted one), 404 when no VM is created or a device id is unknown, 409 for a
  duplicate id; vm.shutdown leaves the VM "Created" and the process running;
  vm.power-button makes the "guest" power off after CH_STANDIN_POWEROFF_MS
  (default 200) and the process exit 0 (with --no-shutdown: back to Created),
  unless CH_STANDIN_IGNORE_POWER_BUTTON=1 simulates a hung guest; vmm.shutdown
  and SIGTERM/SIGINT exit 0. Hotplugged devices get ids like "_disk2" from
  one counter shared by all device kinds, and a PCI BDF "0000:00:NN.0".
* Serial (--serial socket=PATH): listens on PATH (bind fails if it exists,
  like the real one); once a client connects it writes a few boot lines
  ending in "mvirt-init: ready" and echoes input back; on guest power-off it
  writes "mvirt-init: poweroff". Unlike the real one, output produced while
  no client is connected is kept (bounded) and sent on connect, so tests do
  not race the boot.
* Everything is recorded, one JSON object per line, into the file named by
  CH_STANDIN_RECORD: {"argv": [...]} first, {"config": {...}} once the command
  line is parsed (the VmConfig that vm.info reports), {"cli_error": ...} on a
  bad command line, {"request": {"method", "path", "body"}, "status": N} per
  request (plus "violation": "..." when it broke the contract), {"serial":
  "connected"}, and {"exit": code, "reason": ...} last.

The API description is read from CH_STANDIN_OPENAPI, else
tests/integration/cloud-hypervisor-openapi.yaml, else
../shared/reference/cloud-hypervisor/openapi.yaml next to the repository.
"""
import fcntl
import json
import os
import re
import signal
import socket
import socketserver
import stat
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OPENAPI_CANDIDATES = (
    os.path.join(HERE, "cloud-hypervisor-openapi.yaml"),
    os.path.join(os.path.dirname(ROOT), "shared", "reference", "cloud-hypervisor", "openapi.yaml"),
)

VERSION = "v54.0"
API_ROOT = "/api/v1"
HTTP_PAYLOAD_MAX_SIZE = 4 << 20     # the real API server's limit
SERIAL_BACKLOG_MAX = 64 << 10       # output kept while no serial client is connected
MAX_PHYS_BITS = 46                  # cloud-hypervisor's default
DEFAULT_VCPUS = 1
DEFAULT_MEMORY = 512 << 20

BOOT_LINES = (
    "[    0.000000] Linux version 6.1.0-ch-standin (mock guest: no code runs)",
    "[    0.100000] Run /init as init process",
    "mvirt-init: ready",
)


class CliError(Exception):
    """A usage error as clap reports it (exit status 2)."""


class ConfigError(Exception):
    """A value or validation error (exit status 1)."""


# --- the recorder ---------------------------------------------------------

_record_lock = threading.Lock()


def record(obj):
    """Append one JSON line to $CH_STANDIN_RECORD (no-op when unset)."""
    path = os.environ.get("CH_STANDIN_RECORD")
    if not path:
        return
    line = json.dumps(obj, sort_keys=True) + "\n"
    with _record_lock:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


# --- the command line, as clap sees it ------------------------------------

# name: (arity, group). Arity: "one" = exactly one value, not repeatable;
# "many" = one or more values, repeatable (ArgAction::Append); "flag" = no
# value; "count" = -v; "optional" = zero or one value (--rtc).
# "default" options take exactly one value and have a default in the real
# binary, which does not count as "given" for the vm-payload requirement.
CLI_OPTIONS = {
    "api-socket": ("one", "vmm"), "balloon": ("one", "vm"), "cmdline": ("one", "vm"),
    "console": ("default", "vm"), "cpus": ("default", "vm"),
    "debug-console": ("default", "vm"), "device": ("many", "vm"), "disk": ("many", "vm"),
    "event-monitor": ("one", "vmm"), "firmware": ("one", "payload"), "fs": ("many", "vm"),
    "generic-vhost-user": ("many", "vm"), "initramfs": ("one", "vm"),
    "kernel": ("one", "payload"), "landlock": ("flag", "vm"),
    "landlock-rules": ("many", "vm"), "log-file": ("one", "logging"),
    "log-format": ("default", "logging"), "memory": ("default", "vm"),
    "memory-zone": ("many", "vm"), "net": ("many", "vm"), "no-shutdown": ("flag", "vmm"),
    "numa": ("many", "vm"), "pci-segment": ("many", "vm"), "platform": ("one", "vm"),
    "pmem": ("many", "vm"), "pvpanic": ("flag", "vm"), "rate-limit-group": ("many", "vm"),
    "restore": ("one", "vmm"), "rng": ("default", "vm"), "rtc": ("optional", "vm"),
    "seccomp": ("default", None), "serial": ("default", "vm"), "tpm": ("one", "vm"),
    "user-device": ("many", "vm"), "v": ("count", "logging"), "vdpa": ("many", "vm"),
    "version": ("flag", None), "vsock": ("one", "vm"), "watchdog": ("flag", "vm"),
}
CLI_DEFAULTS = {
    "console": "tty", "cpus": f"boot={DEFAULT_VCPUS},max_phys_bits={MAX_PHYS_BITS}",
    "debug-console": "off,iobase=0xe9", "memory": "size=512M", "rng": "src=/dev/urandom",
    "seccomp": "true", "serial": "null",
}
# Options of the real binary whose values this stand-in does not model.
UNMODELLED = {"balloon", "device", "fs", "generic-vhost-user", "landlock-rules", "memory-zone",
              "numa", "pci-segment", "platform", "pmem", "rate-limit-group", "restore", "rtc",
              "tpm", "user-device", "vdpa", "vsock", "debug-console"}
SECCOMP_VALUES = ("true", "false", "log", "errno")


def parse_argv(argv):
    """Split argv like clap: returns {name: [values...]} for given options
    (a flag maps to [], "many" options to one list over all occurrences).
    Raises CliError."""
    given = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg in ("-h", "--help"):
            raise CliError("help")
        if re.fullmatch(r"-v+", arg):
            given.setdefault("v", []).extend([""] * (len(arg) - 1))
            continue
        if arg in ("-V",):
            given["version"] = []
            continue
        if not arg.startswith("--") or arg == "--":
            raise CliError(f"unexpected argument '{arg}' found")
        name, eq, inline = arg[2:].partition("=")
        if name not in CLI_OPTIONS or name == "v":
            raise CliError(f"unexpected argument '--{name}' found")
        arity = CLI_OPTIONS[name][0]
        if arity in ("flag", "count"):
            if eq:
                raise CliError(f"unexpected value '{inline}' for '--{name}' found; no more were expected")
            if name in given:
                raise CliError(f"the argument '--{name}' cannot be used multiple times")
            given[name] = []
            continue
        values = [inline] if eq else []
        if arity == "many" and not eq:
            while i < len(argv) and not argv[i].startswith("-"):
                values.append(argv[i])
                i += 1
        elif not eq and i < len(argv) and not argv[i].startswith("-"):
            values.append(argv[i])
            i += 1
        if not values and arity != "optional":
            raise CliError(f"a value is required for '--{name} <{name}>' but none was supplied")
        if arity == "many":
            given.setdefault(name, []).extend(values)
            continue
        if name in given:
            raise CliError(f"the argument '--{name} <{name}>' cannot be used multiple times")
        given[name] = values
    if not argv:
        raise CliError("help")
    if "seccomp" in given and given["seccomp"][0] not in SECCOMP_VALUES:
        raise CliError(f"invalid value '{given['seccomp'][0]}' for '--seccomp <seccomp>'")
    vm_given = [n for n in given if CLI_OPTIONS[n][1] == "vm"]
    if vm_given and not any(CLI_OPTIONS[n][1] == "payload" for n in given):
        raise CliError("the following required arguments were not provided:\n"
                       "  <--firmware <firmware>|--kernel <kernel>>")
    return given


# --- cloud-hypervisor's option parser ("key=value,key=value") --------------

def split_commas(s):
    """Split at commas outside quotes and brackets; ConfigError when unbalanced."""
    parts, cur, depth, quoted = [], "", 0, False
    for c in s.strip():
        if c == '"':
            quoted = not quoted
        elif not quoted and c == "[":
            depth += 1
        elif not quoted and c == "]":
            if depth == 0:
                raise ConfigError(f"Invalid syntax: {s}")
            depth -= 1
        elif not quoted and depth == 0 and c == ",":
            parts.append(cur)
            cur = ""
            continue
        cur += c
    parts.append(cur)
    if quoted or depth:
        raise ConfigError(f"Invalid syntax: {s}")
    return parts


def parse_options(what, s, keys, valueless=()):
    """Parse "k=v,..." allowing only `keys` (with value) and `valueless`
    (bare words). Returns {key: value}; a bare word maps to ""."""
    out = {}
    if not s.strip():
        return out
    for part in split_commas(s):
        key, eq, value = part.partition("=")
        if key in valueless:
            out[key] = ""
        elif key in keys:
            if not eq:
                raise ConfigError(f"Error parsing --{what}: Invalid syntax: {part}")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            out[key] = value
        else:
            raise ConfigError(f"Error parsing --{what}: Unknown option: {key}")
    return out


def toggle(what, opts, key, default):
    v = opts.get(key)
    if v is None:
        return default
    v = v.lower()
    if v in ("on", "true"):
        return True
    if v in ("off", "false", ""):
        return False
    raise ConfigError(f"Error parsing --{what}: Unable to convert {v} for {key}")


def integer(what, opts, key, default, lo=0, hi=(1 << 64) - 1):
    v = opts.get(key)
    if v is None or v == "":
        return default
    if not re.fullmatch(r"[0-9]+", v) or not lo <= int(v) <= hi:
        raise ConfigError(f"Error parsing --{what}: Unable to convert {v} for {key}")
    return int(v)


def byte_size(what, opts, key, default):
    v = opts.get(key)
    if v is None or v == "":
        return default
    m = re.fullmatch(r"([0-9]+)([KMG]?)", v.strip())
    if not m:
        raise ConfigError(f"Error parsing --{what}: Unable to convert {v} for {key}")
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2)]


def mac_address(what, opts, key):
    v = opts.get(key)
    if v is None or v == "":
        return None
    if not re.fullmatch(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}", v):
        raise ConfigError(f"Error parsing --{what}: Unable to convert {v} for {key}")
    return v.lower()


PCI_COMMON = ("id", "iommu", "pci_segment", "pci_device_id")


def pci_common(what, opts, cfg):
    if opts.get("id"):
        cfg["id"] = opts["id"]
    cfg["iommu"] = toggle(what, opts, "iommu", False)
    cfg["pci_segment"] = integer(what, opts, "pci_segment", 0, hi=0xffff)
    dev = integer(what, opts, "pci_device_id", None, hi=0xff)
    if dev is not None:
        cfg["pci_device_id"] = dev


def parse_cpus(s):
    o = parse_options("cpus", s, ("boot", "max", "topology", "kvm_hyperv", "max_phys_bits",
                                  "affinity", "features", "nested", "core_scheduling", "profile"))
    for k in ("affinity", "features", "profile"):
        if k in o:
            raise ConfigError(f"ch_standin: --cpus {k}= is valid but not modelled by the stand-in")
    boot = integer("cpus", o, "boot", DEFAULT_VCPUS, hi=0xffffffff)
    cfg = {"boot_vcpus": boot, "max_vcpus": integer("cpus", o, "max", boot, hi=0xffffffff),
           "kvm_hyperv": toggle("cpus", o, "kvm_hyperv", False),
           "max_phys_bits": integer("cpus", o, "max_phys_bits", MAX_PHYS_BITS, hi=0xff),
           "nested": toggle("cpus", o, "nested", True)}
    if "topology" in o:
        m = re.fullmatch(r"([0-9]+):([0-9]+):([0-9]+):([0-9]+)", o["topology"])
        if not m:
            raise ConfigError(f"Error parsing --cpus: Unable to convert {o['topology']} for topology")
        cfg["topology"] = dict(zip(("threads_per_core", "cores_per_die", "dies_per_package",
                                    "packages"), map(int, m.groups())))
    sched = o.get("core_scheduling", "vm").lower()
    if sched not in ("vm", "vcpu", "off"):
        raise ConfigError(f"Error parsing --cpus: Unable to convert {sched} for core_scheduling")
    cfg["core_scheduling"] = sched.capitalize()
    if boot == 0:
        raise ConfigError("Error validating configuration: Number of vCPUs must be at least 1")
    if cfg["max_vcpus"] < boot:
        raise ConfigError("Error validating configuration: Max is less than boot")
    return cfg


def parse_memory(s):
    keys = ("size", "file", "mergeable", "hotplug_method", "hotplug_size", "hotplugged_size",
            "shared", "hugepages", "hugepage_size", "prefault", "reserve", "thp")
    o = parse_options("memory", s, keys)
    if "file" in o:
        raise ConfigError("ch_standin: --memory file= is valid but not modelled by the stand-in")
    cfg = {"size": byte_size("memory", o, "size", DEFAULT_MEMORY)}
    for k, default in (("mergeable", False), ("shared", False), ("hugepages", False),
                       ("prefault", False), ("reserve", False), ("thp", True)):
        cfg[k] = toggle("memory", o, k, default)
    method = o.get("hotplug_method", "acpi").lower()
    if method not in ("acpi", "virtio-mem"):
        raise ConfigError(f"Error parsing --memory: Unable to convert {method} for hotplug_method")
    cfg["hotplug_method"] = "Acpi" if method == "acpi" else "VirtioMem"
    for k in ("hotplug_size", "hotplugged_size", "hugepage_size"):
        v = byte_size("memory", o, k, None)
        if v is not None:
            cfg[k] = v
    if cfg["size"] == 0:
        raise ConfigError("Error validating configuration: Memory size is zero")
    return cfg


def parse_disk(s):
    keys = ("path", "readonly", "direct", "queue_size", "num_queues", "vhost_user", "socket",
            "serial", "image_type", "sparse", "backing_files", "lock_granularity") + PCI_COMMON
    o = parse_options("disk", s, keys)
    cfg = {}
    if o.get("path"):
        cfg["path"] = o["path"]
    cfg.update(readonly=toggle("disk", o, "readonly", False),
               direct=toggle("disk", o, "direct", False),
               num_queues=integer("disk", o, "num_queues", 1, hi=0xffff),
               queue_size=integer("disk", o, "queue_size", 128, hi=0xffff),
               vhost_user=toggle("disk", o, "vhost_user", False),
               backing_files=toggle("disk", o, "backing_files", False),
               sparse=toggle("disk", o, "sparse", True))
    if o.get("socket"):
        cfg["vhost_socket"] = o["socket"]
    if o.get("serial"):
        cfg["serial"] = o["serial"]
    if "image_type" in o:
        kinds = {"raw": "Raw", "qcow2": "Qcow2", "vhd": "FixedVhd", "vhdx": "Vhdx"}
        if o["image_type"].lower() not in kinds:
            raise ConfigError(f"Error parsing --disk: Unable to convert {o['image_type']} for image_type")
        cfg["image_type"] = kinds[o["image_type"].lower()]
    pci_common("disk", o, cfg)
    return cfg


def parse_net(s):
    keys = ("tap", "ip", "mask", "mac", "host_mac", "offload_tso", "offload_ufo",
            "offload_csum", "mtu", "queue_size", "num_queues", "vhost_user", "socket",
            "vhost_mode", "fd") + PCI_COMMON
    o = parse_options("net", s, keys)
    if "fd" in o:
        raise ConfigError("ch_standin: --net fd= is valid but not modelled by the stand-in")
    cfg = {}
    for k in ("tap", "ip", "mask"):
        if o.get(k):
            cfg[k] = o[k]
    for k in ("mac", "host_mac"):
        v = mac_address("net", o, k)
        if v:
            cfg[k] = v
    mtu = integer("net", o, "mtu", None, hi=0xffff)
    if mtu is not None:
        cfg["mtu"] = mtu
    cfg.update(num_queues=integer("net", o, "num_queues", 2, hi=0xffff),
               queue_size=integer("net", o, "queue_size", 256, hi=0xffff),
               vhost_user=toggle("net", o, "vhost_user", False),
               offload_tso=toggle("net", o, "offload_tso", True),
               offload_ufo=toggle("net", o, "offload_ufo", True),
               offload_csum=toggle("net", o, "offload_csum", True))
    if o.get("socket"):
        cfg["vhost_socket"] = o["socket"]
    mode = o.get("vhost_mode", "client").lower()
    if mode not in ("client", "server"):
        raise ConfigError(f"Error parsing --net: Unable to convert {mode} for vhost_mode")
    cfg["vhost_mode"] = mode.capitalize()
    pci_common("net", o, cfg)
    return cfg


def parse_console(what, s):
    """--serial / --console: off|pty|tty|null|file=PATH|socket=PATH."""
    keys = ("file", "socket") + (PCI_COMMON if what == "console" else ())
    o = parse_options(what, s, keys, valueless=("off", "pty", "tty", "null"))
    cfg = {}
    for word, mode in (("off", "Off"), ("pty", "Pty"), ("tty", "Tty"), ("null", "Null")):
        if word in o:
            cfg["mode"] = mode
            break
    else:
        for key, mode in (("file", "File"), ("socket", "Socket")):
            if key in o:
                if not o[key]:
                    raise ConfigError(f"Error parsing --{what}: {key} path missing")
                cfg["mode"], cfg[key] = mode, o[key]
                break
        else:
            raise ConfigError(f"Error parsing --{what}: invalid console mode given")
    if what == "console":
        pci_common(what, o, cfg)
    return cfg


def parse_rng(s):
    o = parse_options("rng", s, ("src", "iommu"))
    return {"src": o.get("src") or "/dev/urandom", "iommu": toggle("rng", o, "iommu", False)}


def check_device_config(kind, dev, config):
    """Config validation the real VMM applies to a disk or net (at boot and
    on hotplug). Returns an error string or None."""
    shared = config["memory"]["shared"] or config["memory"]["hugepages"]
    boot_vcpus = config["cpus"]["boot_vcpus"]
    if kind == "disk":
        if dev.get("path") and dev.get("vhost_socket"):
            return "Disk path and vhost-user socket are mutually exclusive"
        if not dev.get("path") and not dev.get("vhost_user"):
            return "Disk path is missing"
        if dev["num_queues"] > boot_vcpus:
            return f"Number of queues ({dev['num_queues']}) exceeds vCPUs ({boot_vcpus})"
        qs = dev["queue_size"]
        if qs & (qs - 1) or qs <= 2:
            return f"Invalid queue size {qs}"
    else:
        if dev["num_queues"] < 2:
            return f"Number of queues to virtio_net is less than 2: {dev['num_queues']}"
        if dev["num_queues"] // 2 > boot_vcpus:
            return f"Number of queues ({dev['num_queues']}) exceeds vCPUs ({boot_vcpus})"
        qs = dev["queue_size"]
        if qs == 0 or qs & (qs - 1):
            return f"Invalid queue size {qs}"
        if ("ip" in dev) != ("mask" in dev):
            return "IP and mask must be given together"
        if not dev["offload_csum"] and (dev["offload_tso"] or dev["offload_ufo"]):
            return "TSO/UFO offload requires checksum offload"
    if dev.get("vhost_user"):
        if not shared:
            return "Using vhost-user requires using shared memory or huge pages"
        if not dev.get("vhost_socket"):
            return "No socket provided when using vhost-user"
        if dev.get("iommu"):
            return "IOMMU is not supported with vhost-user"
    if dev.get("pci_segment", 0) != 0:
        return f"Invalid PCI segment {dev['pci_segment']}"
    return None


def check_paths(config):
    """What the real VMM would fail on when it opens the files at boot."""
    payload = config["payload"]
    for key in ("kernel", "initramfs", "firmware"):
        if key in payload and not os.path.isfile(payload[key]):
            return f"Cannot load {key} {payload[key]}: No such file"
    for d in config.get("disks", []):
        if d.get("path") and not os.path.exists(d["path"]):
            return f"Failed to open disk image {d['path']}: No such file or directory"
        if d.get("vhost_socket") and not is_socket(d["vhost_socket"]):
            return f"Failed to connect to vhost-user backend {d['vhost_socket']}"
    for n in config.get("net", []):
        if n.get("vhost_user") and n.get("vhost_mode") == "Client" \
                and not is_socket(n["vhost_socket"]):
            return f"Failed to connect to vhost-user backend {n['vhost_socket']}"
    return None


def is_socket(path):
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def build_config(given):
    """The VmConfig (API shape) of a command line with a payload."""
    def one(name):
        return given[name][0] if name in given else CLI_DEFAULTS.get(name)

    for name in given:
        if name in UNMODELLED:
            raise ConfigError(f"ch_standin: --{name} is a real cloud-hypervisor option "
                              "that this stand-in does not model")
    config = {"cpus": parse_cpus(one("cpus")), "memory": parse_memory(one("memory")),
              "payload": {}}
    for key in ("kernel", "firmware", "cmdline", "initramfs"):
        if key in given:
            config["payload"][key] = given[key][0]
    config["disks"] = [parse_disk(s) for s in given.get("disk", [])]
    config["net"] = [parse_net(s) for s in given.get("net", [])]
    config["rng"] = parse_rng(one("rng"))
    config["serial"] = parse_console("serial", one("serial"))
    config["console"] = parse_console("console", one("console"))
    config["iommu"] = False
    config["watchdog"] = "watchdog" in given
    config["pvpanic"] = "pvpanic" in given
    config["landlock_enable"] = "landlock" in given
    validate_config(config)
    return config


def validate_config(config):
    ids = set()
    for kind, devs in (("disk", config.get("disks", [])), ("net", config.get("net", []))):
        for d in devs:
            err = check_device_config(kind, d, config)
            if err:
                raise ConfigError(f"Error validating configuration: {err}")
            if "id" in d:
                if d["id"].startswith("__"):
                    raise ConfigError(f"Error validating configuration: Invalid identifier {d['id']}")
                if d["id"] in ids:
                    raise ConfigError(f"Error validating configuration: Identifier {d['id']} is not unique")
                ids.add(d["id"])
    for which in ("serial", "console"):
        if config[which]["mode"] == "Pty":
            raise ConfigError(f"ch_standin: --{which} pty is valid but not modelled by the stand-in")


# --- OpenAPI 3.0 subset validation ---------------------------------------

SCHEMA_KEYWORDS = {"$ref", "type", "properties", "required", "items", "enum", "format",
                   "default", "additionalProperties", "nullable", "minimum", "maximum",
                   "minLength", "description", "deprecated"}
INT_FORMATS = {"int8": (-(1 << 7), (1 << 7) - 1), "int16": (-(1 << 15), (1 << 15) - 1),
               "int32": (-(1 << 31), (1 << 31) - 1), "int64": (-(1 << 63), (1 << 63) - 1),
               "uint8": (0, 0xff), "uint16": (0, 0xffff), "uint32": (0, 0xffffffff),
               "uint64": (0, (1 << 64) - 1)}


class OpenApi:
    """The paths and schemas of openapi.yaml, with a validator of the subset
    of OpenAPI 3.0 the file uses. A schema keyword outside that subset makes
    loading fail, so that a newer file is never half-checked."""

    def __init__(self, path):
        with open(path) as f:
            self.doc = yaml.safe_load(f)
        self.schemas = self.doc["components"]["schemas"]
        self.paths = self.doc["paths"]
        for name, s in self.schemas.items():
            self._check_keywords(s, name)

    def _check_keywords(self, s, where):
        unknown = set(s) - SCHEMA_KEYWORDS
        if unknown:
            raise ValueError(f"{where}: unsupported schema keywords {sorted(unknown)}")
        for k, sub in s.get("properties", {}).items():
            self._check_keywords(sub, f"{where}.{k}")
        for key in ("items", "additionalProperties"):
            if isinstance(s.get(key), dict):
                self._check_keywords(s[key], f"{where}.{key}")

    def operation(self, endpoint, method):
        """(operation or None, allowed methods or None when the path is unknown)"""
        item = self.paths.get(endpoint)
        if item is None:
            return None, None
        allowed = sorted(m.upper() for m in item)
        return item.get(method.lower()), allowed

    @staticmethod
    def body_schema(op):
        rb = op.get("requestBody")
        if rb is None:
            return None, False
        return rb["content"]["application/json"]["schema"], rb.get("required", False)

    @staticmethod
    def response_schema(op, status):
        resp = op.get("responses", {})
        r = resp.get(status, resp.get(str(status)))
        if r is None:
            return None, False
        content = r.get("content", {}).get("application/json")
        return (content["schema"] if content else None), True

    def validate(self, value, schema, where="body"):
        """Return None when value matches schema, else a one-line reason."""
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            return self.validate(value, self.schemas[name], where)
        if value is None:
            return None if schema.get("nullable") else f"{where}: null is not allowed"
        t = schema.get("type")
        if t == "object":
            if not isinstance(value, dict):
                return f"{where}: expected an object, got {json_type(value)}"
            for k in schema.get("required", []):
                if k not in value:
                    return f"{where}: missing required property '{k}'"
            props = schema.get("properties", {})
            extra = schema.get("additionalProperties")
            for k, v in value.items():
                if k in props:
                    err = self.validate(v, props[k], f"{where}.{k}")
                elif isinstance(extra, dict):
                    err = self.validate(v, extra, f"{where}.{k}")
                elif extra is True or (not props and extra is None):
                    err = None
                else:
                    err = f"{where}: unknown property '{k}'"
                if err:
                    return err
        elif t == "array":
            if not isinstance(value, list):
                return f"{where}: expected an array, got {json_type(value)}"
            for i, v in enumerate(value):
                err = self.validate(v, schema.get("items", {}), f"{where}[{i}]")
                if err:
                    return err
        elif t == "string":
            if not isinstance(value, str):
                return f"{where}: expected a string, got {json_type(value)}"
            if len(value) < schema.get("minLength", 0):
                return f"{where}: shorter than {schema['minLength']}"
        elif t == "integer":
            if not isinstance(value, int) or isinstance(value, bool):
                return f"{where}: expected an integer, got {json_type(value)}"
            lo, hi = INT_FORMATS.get(schema.get("format"), (None, None))
            if lo is not None and not lo <= value <= hi:
                return f"{where}: {value} out of range for {schema['format']}"
        elif t == "number":
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                return f"{where}: expected a number, got {json_type(value)}"
        elif t == "boolean":
            if not isinstance(value, bool):
                return f"{where}: expected a boolean, got {json_type(value)}"
        if "enum" in schema and value not in schema["enum"]:
            return f"{where}: {value!r} is not one of {schema['enum']}"
        if "minimum" in schema and value < schema["minimum"]:
            return f"{where}: {value} is below the minimum {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            return f"{where}: {value} is above the maximum {schema['maximum']}"
        return None


def json_type(v):
    if v is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string",
            list: "array", dict: "object"}[type(v)]


def load_json_strict(text):
    """json.loads that refuses duplicate keys (serde does) and NaN/Infinity."""
    def pairs(items):
        obj = {}
        for k, v in items:
            if k in obj:
                raise ValueError(f"duplicate key '{k}'")
            obj[k] = v
        return obj

    def bad_constant(c):
        raise ValueError(f"invalid JSON constant {c}")

    return json.loads(text, object_pairs_hook=pairs, parse_constant=bad_constant)


# --- the serial port and the "guest" --------------------------------------

class SerialPort:
    """The Unix socket of --serial socket=PATH: one client at a time (a new
    one replaces the old), output kept while nobody is connected, input
    echoed back as a guest's tty would."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.client = None
        self.backlog = bytearray()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)        # fails if the path exists, like the real one
        self.listener.listen(4)
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def write(self, data):
        with self.lock:
            if self.client is not None:
                try:
                    self.client.sendall(data)
                    return
                except OSError:
                    self.client = None
            self.backlog += data
            del self.backlog[:max(0, len(self.backlog) - SERIAL_BACKLOG_MAX)]

    def _accept_loop(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                if self.client is not None:
                    self.client.close()
                self.client = conn
                try:
                    conn.sendall(bytes(self.backlog))
                    self.backlog.clear()
                except OSError:
                    self.client = None
            record({"serial": "connected"})
            threading.Thread(target=self._echo_loop, args=(conn,), daemon=True).start()

    def _echo_loop(self, conn):
        while True:
            try:
                data = conn.recv(4096)
            except OSError:
                data = b""
            if not data:
                break
            self.write(data)
        with self.lock:
            if self.client is conn:
                self.client = None
        conn.close()

    def close(self):
        self.listener.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


class Vmm:
    """The VMM state the API acts on: the config (None before vm.create /
    after vm.delete), whether a VM is booted, its state, its devices."""

    def __init__(self, no_shutdown):
        self.lock = threading.RLock()
        self.no_shutdown = no_shutdown
        self.config = None
        self.state = None           # None: no VM object; else Running/Paused
        self.generation = 0         # bumps on every boot/shutdown, cancels a pending power-off
        self.device_counter = 0
        self.devices = {}           # id -> bdf of the booted VM
        self.serial = None
        self.exit = threading.Event()
        self.exit_code = 0
        self.exit_reason = ""

    def request_exit(self, code, reason):
        with self.lock:
            if not self.exit.is_set():
                self.exit_code, self.exit_reason = code, reason
                self.exit.set()

    def serial_write(self, text):
        if self.serial is not None:
            self.serial.write(text.encode())

    def _next_id(self, prefix):
        while True:
            name = f"{prefix}{self.device_counter}"
            self.device_counter += 1
            if name not in self.devices and name not in self._config_ids():
                return name

    def _config_ids(self):
        return {d["id"] for k in ("disks", "net") for d in self.config.get(k, []) if "id" in d}

    def _next_bdf(self):
        used = set(self.devices.values())
        for slot in range(1, 32):
            bdf = f"0000:00:{slot:02x}.0"
            if bdf not in used:
                return bdf
        return None

    def boot(self):
        """Create the VM from the config: ids and PCI slots as the real
        device manager hands them out (console, disks, nets, rng)."""
        self.devices = {}
        if self.config.get("console", {}).get("mode", "Off") != "Off":
            self.devices["__console"] = self._next_bdf()
        for kind, prefix in (("disks", "_disk"), ("net", "_net")):
            for dev in self.config.get(kind, []):
                if "id" not in dev:
                    dev["id"] = self._next_id(prefix)
                self.devices[dev["id"]] = self._next_bdf()
        self.devices["__rng"] = self._next_bdf()
        self.state = "Running"
        self.generation += 1
        self.guest_boot_output()

    def guest_boot_output(self):
        for line in BOOT_LINES:
            self.serial_write(line + "\r\n")

    def shutdown_vm(self):
        self.state = None
        self.devices = {}
        self.generation += 1

    def power_button(self, delay):
        """The guest reacts to the ACPI power button after `delay` seconds
        (later if it is paused meanwhile), unless the VM went away."""
        gen = self.generation

        def guest():
            time.sleep(delay)
            while True:
                with self.lock:
                    if self.generation != gen or self.state is None:
                        return
                    if self.state == "Running":
                        self.serial_write("mvirt-init: poweroff\r\n")
                        if self.no_shutdown:
                            self.shutdown_vm()
                        else:
                            self.shutdown_vm()
                            self.request_exit(0, "guest power-off")
                        return
                time.sleep(0.02)

        threading.Thread(target=guest, daemon=True).start()

    def info(self):
        state = self.state or "Created"
        cfg = json.loads(json.dumps(self.config))
        info = {"config": cfg, "state": state,
                "memory_actual_size": cfg["memory"]["size"] - cfg["memory"].get("hotplugged_size", 0)}
        if self.state is not None:
            info["device_tree"] = {i: {"id": i, "resources": [], "children": [], "pci_bdf": b}
                                   for i, b in self.devices.items()}
        return info


def api_error(status, *chain):
    """An error answer in the real format: a JSON array of messages."""
    return status, ["Error from API"] + list(chain)


class Api:
    """The endpoints' behaviour. Each handler returns (status, body object
    or None); it runs with the VMM lock held."""

    def __init__(self, vmm, poweroff_ms, ignore_power_button):
        self.vmm = vmm
        self.poweroff_delay = poweroff_ms / 1000.0
        self.ignore_power_button = ignore_power_button

    def handle(self, endpoint, body):
        fn = getattr(self, "ep_" + endpoint.lstrip("/").replace(".", "_").replace("-", "_"), None)
        if fn is None:
            return 500, ["ch_standin: endpoint is in the API but not modelled by the stand-in"]
        with self.vmm.lock:
            return fn(body) if body is not None else fn()

    def ep_vmm_ping(self):
        return 200, {"build_version": VERSION + "-ch-standin", "version": VERSION,
                     "pid": os.getpid(), "features": ["kvm"]}

    def ep_vmm_shutdown(self):
        self.vmm.shutdown_vm()
        self.vmm.config = None
        return 204, None

    def ep_vm_info(self):
        if self.vmm.config is None:
            return api_error(404, "The VM info is not available", "VM is not created")
        return 200, self.vmm.info()

    def ep_vm_create(self, body):
        if self.vmm.config is not None:
            return api_error(500, "The VM could not be created", "The VM is already created")
        body.setdefault("cpus", {"boot_vcpus": DEFAULT_VCPUS, "max_vcpus": DEFAULT_VCPUS})
        body.setdefault("memory", {"size": DEFAULT_MEMORY})
        body["memory"].setdefault("shared", False)
        body["memory"].setdefault("hugepages", False)
        self.vmm.config = body
        return 204, None

    def ep_vm_boot(self):
        v = self.vmm
        if v.state is not None:
            return api_error(500, "The VM could not boot", "The VM is already created")
        if v.config is None:
            return api_error(404, "The VM could not boot", "VM is not created (missing config)")
        v.boot()
        return 204, None

    def ep_vm_pause(self):
        v = self.vmm
        if v.state is None:
            return api_error(500, "The VM could not be paused", "VM is not running")
        if v.state != "Running":
            return api_error(500, "The VM could not be paused", "Cannot pause VM",
                             f"Invalid VM state transition: {v.state} to Paused")
        v.state = "Paused"
        return 204, None

    def ep_vm_resume(self):
        v = self.vmm
        if v.state is None:
            return api_error(500, "The VM could not resume", "VM is not running")
        if v.state != "Paused":
            return api_error(500, "The VM could not resume", "Cannot resume VM",
                             f"Invalid VM state transition: {v.state} to Running")
        v.state = "Running"
        return 204, None

    def ep_vm_shutdown(self):
        v = self.vmm
        if v.state is None:
            return api_error(500, "The VM could not shut down", "VM is not running")
        v.shutdown_vm()
        return 204, None

    def ep_vm_reboot(self):
        v = self.vmm
        if v.state is None:
            return api_error(404, "The VM could not reboot", "VM is not created")
        v.shutdown_vm()
        v.boot()
        return 204, None

    def ep_vm_power_button(self):
        v = self.vmm
        if v.state is None:
            return api_error(500, "Error triggering power button", "VM is not running")
        if not self.ignore_power_button:
            v.power_button(self.poweroff_delay)
        return 204, None

    def ep_vm_delete(self):
        self.vmm.shutdown_vm()
        self.vmm.config = None
        return 204, None

    def _add(self, kind, prefix, what, dev):
        v = self.vmm
        if v.config is None:
            return api_error(404, f"The {what} could not be added to the VM", "VM is not created")
        defaults = {"disks": {"readonly": False, "direct": False, "num_queues": 1,
                              "queue_size": 128, "vhost_user": False},
                    "net": {"num_queues": 2, "queue_size": 256, "vhost_user": False,
                            "offload_tso": True, "offload_ufo": True, "offload_csum": True}}[kind]
        for k, val in defaults.items():
            dev.setdefault(k, val)
        err = check_device_config("disk" if kind == "disks" else "net", dev, v.config)
        if err is None and dev.get("id", "").startswith("__"):
            err = f"Invalid identifier {dev['id']}"
        if err:
            return api_error(400, f"The {what} could not be added to the VM", err)
        if "id" in dev and (dev["id"] in v._config_ids() or dev["id"] in v.devices):
            return api_error(409, f"The {what} could not be added to the VM",
                             f"Identifier {dev['id']} is not unique")
        if kind == "disks" and dev.get("path") and not os.path.exists(dev["path"]):
            return api_error(500, f"The {what} could not be added to the VM",
                             f"Failed to open disk image {dev['path']}")
        if v.state is None:
            v.config.setdefault(kind, []).append(dev)        # cold plug
            return 204, None
        if "id" not in dev:
            dev["id"] = v._next_id(prefix)
        bdf = v._next_bdf()
        if bdf is None:
            return api_error(500, f"The {what} could not be added to the VM", "No free PCI slot")
        v.config.setdefault(kind, []).append(dev)
        v.devices[dev["id"]] = bdf
        return 200, {"id": dev["id"], "bdf": bdf}

    def ep_vm_add_disk(self, body):
        return self._add("disks", "_disk", "disk", body)

    def ep_vm_add_net(self, body):
        return self._add("net", "_net", "network device", body)

    def ep_vm_remove_device(self, body):
        v = self.vmm
        dev_id = body.get("id")
        if v.config is None:
            return api_error(404, "The device could not be removed from the VM", "VM is not created")
        in_config = [(k, d) for k in ("disks", "net") for d in v.config.get(k, [])
                     if d.get("id") == dev_id]
        if not in_config or (v.state is not None and dev_id not in v.devices):
            return api_error(404, "The device could not be removed from the VM",
                             f"No device with id {dev_id!r} to remove")
        kind, dev = in_config[0]
        v.config[kind].remove(dev)
        v.devices.pop(dev_id, None)
        return 204, None


# --- the HTTP server -------------------------------------------------------

class ApiServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class ApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Cloud Hypervisor API"
    sys_version = ""

    def address_string(self):
        return "unix"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    do_POST = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def read_body(self):
        """(bytes, violation or None). Bounded by the real server's limit."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return b"", "Transfer-Encoding bodies are not accepted; send Content-Length"
        length = self.headers.get("Content-Length")
        if length is None:
            return b"", None
        if not length.isdigit():
            self.close_connection = True
            return b"", f"bad Content-Length {length!r}"
        n = int(length)
        if n > HTTP_PAYLOAD_MAX_SIZE:
            self.close_connection = True
            return b"", f"body of {n} bytes is larger than {HTTP_PAYLOAD_MAX_SIZE}"
        return self.rfile.read(n), None

    def check(self, raw):
        """Check the request against openapi.yaml: (endpoint, operation,
        parsed body, violation or None)."""
        api = self.server.openapi
        path = self.path
        if not path.startswith(API_ROOT + "/"):
            return None, None, None, f"path {path!r} is not under {API_ROOT}/"
        endpoint = path[len(API_ROOT):]
        op, allowed = api.operation(endpoint, self.command)
        if allowed is None:
            return endpoint, None, None, f"unknown endpoint {endpoint}"
        if op is None:
            return endpoint, None, None, \
                f"method {self.command} not allowed on {endpoint} (allowed: {', '.join(allowed)})"
        schema, required = api.body_schema(op)
        if schema is None:
            if raw:
                return endpoint, op, None, f"{endpoint} takes no request body"
            return endpoint, op, None, None
        if not raw:
            if required:
                return endpoint, op, None, f"{endpoint} requires a JSON request body"
            return endpoint, op, None, None
        try:
            body = load_json_strict(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            return endpoint, op, None, f"body is not valid JSON: {e}"
        err = api.validate(body, schema)
        return endpoint, op, body, err

    def dispatch(self):
        raw, violation = self.read_body()
        endpoint, op, body, err = (None, None, None, None)
        if violation is None:
            endpoint, op, body, violation = self.check(raw)
        try:
            shown = body if body is not None else (raw.decode("utf-8") if raw else None)
        except UnicodeDecodeError:
            shown = raw.hex()
        entry = {"request": {"method": self.command, "path": self.path, "body": shown}}
        after = None
        if violation:
            status, answer = 400, ["ch_standin: contract violation", violation]
            entry["violation"] = violation
        else:
            # the handlers fill in defaults: give them a copy, record what was sent
            status, answer = self.server.api.handle(endpoint, json.loads(json.dumps(body)))
            err = self.check_answer(op, status, answer)
            if err:
                entry["standin_bug"] = err
                status, answer = 500, ["ch_standin: bug in the stand-in", err]
            if endpoint == "/vmm.shutdown" and status == 204:
                after = lambda: self.server.vmm.request_exit(0, "vmm.shutdown")
        entry["status"] = status
        record(entry)
        self.reply(status, answer)
        if after:
            after()

    def check_answer(self, op, status, answer):
        """The stand-in's own success answers must match the API too."""
        if status >= 300:
            return None
        schema, documented = OpenApi.response_schema(op, status)
        if not documented:
            return f"status {status} is not documented for this endpoint"
        if schema is None:
            return None if answer is None else "answer has a body the API does not declare"
        return self.server.openapi.validate(answer, schema, "answer")

    def reply(self, status, answer):
        data = b"" if answer is None else json.dumps(answer).encode()
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)


def open_api_socket(path):
    """Lock <path>.lock, drop a stale socket, bind: as the real VMM does."""
    lock = open(path + ".lock", "a")
    try:
        fcntl.lockf(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise ConfigError(f"Error starting the VMM: API socket {path} is in use")
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    return lock


def api_socket_path(value):
    """--api-socket path=P | fd=N | P (a bare path)."""
    try:
        opts = parse_options("api-socket", value, ("path", "fd"))
    except ConfigError:
        opts = {}
    if "fd" in opts:
        raise ConfigError("ch_standin: --api-socket fd= is valid but not modelled by the stand-in")
    return opts.get("path") or value


def fail(code, message):
    sys.stderr.write(message + "\n")
    record({"cli_error": message, "exit": code})
    sys.exit(code)


def main(argv):
    record({"argv": argv})
    try:
        given = parse_argv(argv[1:])
    except CliError as e:
        if str(e) == "help":
            fail(2, "Launch a cloud-hypervisor VMM (ch_standin mock).\n\n"
                 "Usage: cloud-hypervisor [OPTIONS]")
        fail(2, f"error: {e}\n\nUsage: cloud-hypervisor [OPTIONS]\n\n"
             "For more information, try '--help'.")
    if "version" in given:
        print(f"cloud-hypervisor {VERSION} (ch_standin mock)")
        record({"exit": 0, "reason": "version"})
        return 0

    openapi_path = os.environ.get("CH_STANDIN_OPENAPI") or next(
        (p for p in OPENAPI_CANDIDATES if os.path.isfile(p)), None)
    if openapi_path is None:
        fail(1, "ch_standin: openapi.yaml not found (set CH_STANDIN_OPENAPI)")
    openapi = OpenApi(openapi_path)

    vmm = Vmm("no-shutdown" in given)
    api_path = None
    server = None
    try:
        if "log-file" in given:
            open(given["log-file"][0], "w").close()
        if "event-monitor" in given:
            ev = parse_options("event-monitor", given["event-monitor"][0], ("path", "fd"))
            if "path" not in ev:
                raise ConfigError("Error parsing --event-monitor: path or fd required"
                                  if "fd" not in ev else
                                  "ch_standin: --event-monitor fd= is not modelled")
            open(ev["path"], "w").close()
        payload = "kernel" in given or "firmware" in given
        config = build_config(given) if payload else None
        if config is not None:
            record({"config": config})
            err = check_paths(config)
            if err:
                raise ConfigError(f"Error booting VM: {err}")
        if "api-socket" in given:
            api_path = api_socket_path(given["api-socket"][0])
            lock = open_api_socket(api_path)
            server = ApiServer(api_path, ApiHandler)
            server.api_lock = lock      # held until exit, like the real VMM
        if config is not None:
            serial = config["serial"]
            if serial["mode"] == "Socket":
                try:
                    vmm.serial = SerialPort(serial["socket"])
                except OSError as e:
                    raise ConfigError(f"Error booting VM: serial socket {serial['socket']}: {e}")
            vmm.config = config
            vmm.boot()
    except ConfigError as e:
        if server is not None:
            server.server_close()
            os.unlink(api_path)
        fail(1, "Error: Cloud Hypervisor exited with the following chain of errors:\n"
             f"  0: {e}")
    except OSError as e:
        fail(1, f"Error: Cloud Hypervisor exited with the following chain of errors:\n  0: {e}")

    if server is not None:
        server.openapi = openapi
        server.vmm = vmm
        server.api = Api(vmm, int(os.environ.get("CH_STANDIN_POWEROFF_MS", "200")),
                         os.environ.get("CH_STANDIN_IGNORE_POWER_BUTTON") == "1")
        threading.Thread(target=server.serve_forever, daemon=True).start()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, f: vmm.request_exit(0, signal.Signals(s).name))
    while not vmm.exit.wait(0.2):
        pass

    if server is not None:
        server.server_close()
        try:
            os.unlink(api_path)
        except OSError:
            pass
    if vmm.serial is not None:
        vmm.serial.close()
    record({"exit": vmm.exit_code, "reason": vmm.exit_reason})
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(vmm.exit_code)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
