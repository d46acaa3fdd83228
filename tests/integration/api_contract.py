"""Expected wire contract of our four services, transcribed by hand from
spec/api.md (sections 2.1-2.3, 3.1-3.3, 4.1-4.3, 5.1-5.3 and the EXT items of 6).

test_proto_contract.py compiles proto/*.proto and compares the descriptors
with these tables (api.md section 7, item 1). When api.md changes, change this
file first, then the .proto files.

Notation
* Field(name, number, type, label, ext=False)
  - type: a proto scalar type name ("string", "uint64", "bytes", ...) or the
    name of a message/enum of the same package ("Vm", "LogLevel", ...); names
    of nested types are dotted ("HealthCheckResponse.ServingStatus").
  - label: SINGULAR, REPEATED, OPTIONAL (api.md "optional (presence)": the
    field must be the only member of a oneof named "_<field>"), or
    "oneof <name>" for a real multi-member oneof.
  - ext: True for our additive extensions (api.md section 6, "EXT").
* Rpc(name, request, response, client_streaming, server_streaming, ext=False)
* enum values: (name, number, ext)
"""

from collections import namedtuple

SINGULAR = "singular"
REPEATED = "repeated"
OPTIONAL = "optional"


def ONEOF(name):
    return "oneof " + name


Field = namedtuple("Field", "name number type label ext", defaults=(False,))
Rpc = namedtuple("Rpc", "name request response client_streaming server_streaming ext",
                 defaults=(False,))
Value = namedtuple("Value", "name number ext", defaults=(False,))
Service = namedtuple("Service", "package name rpcs messages enums")


def _id_only():
    """Request messages whose only field is `string id = 1` (a VM ref)."""
    return [Field("id", 1, "string", SINGULAR)]


# ---------------------------------------------------------------------------
# 2. VmService (package mvirt)
# ---------------------------------------------------------------------------
VM_SERVICE = Service(
    package="mvirt",
    name="VmService",
    rpcs=[
        Rpc("GetSystemInfo", "GetSystemInfoRequest", "SystemInfo", False, False),
        Rpc("CreateVm", "CreateVmRequest", "Vm", False, False),
        Rpc("GetVm", "GetVmRequest", "Vm", False, False),
        Rpc("ListVms", "ListVmsRequest", "ListVmsResponse", False, False),
        Rpc("DeleteVm", "DeleteVmRequest", "DeleteVmResponse", False, False),
        Rpc("StartVm", "StartVmRequest", "Vm", False, False),
        Rpc("StopVm", "StopVmRequest", "Vm", False, False),
        Rpc("KillVm", "KillVmRequest", "Vm", False, False),
        Rpc("AttachDisk", "AttachDiskRequest", "Vm", False, False),
        Rpc("DetachDisk", "DetachDiskRequest", "Vm", False, False),
        Rpc("AttachNic", "AttachNicRequest", "Vm", False, False),
        Rpc("DetachNic", "DetachNicRequest", "Vm", False, False),
        Rpc("Console", "ConsoleInput", "ConsoleOutput", True, True),
        Rpc("WatchVms", "WatchVmsRequest", "VmEvent", False, True),
        Rpc("PauseVm", "PauseVmRequest", "Vm", False, False, ext=True),
        Rpc("ResumeVm", "ResumeVmRequest", "Vm", False, False, ext=True),
        Rpc("RebootVm", "RebootVmRequest", "Vm", False, False, ext=True),
        Rpc("GetConsoleLog", "GetConsoleLogRequest", "ConsoleLog", False, False, ext=True),
    ],
    enums={
        "VmState": [
            Value("VM_STATE_UNSPECIFIED", 0),
            Value("VM_STATE_STOPPED", 1),
            Value("VM_STATE_STARTING", 2),
            Value("VM_STATE_RUNNING", 3),
            Value("VM_STATE_STOPPING", 4),
            Value("VM_STATE_PAUSED", 5, ext=True),
        ],
        "BootMode": [
            Value("BOOT_MODE_UNSPECIFIED", 0),
            Value("BOOT_MODE_DISK", 1),
            Value("BOOT_MODE_KERNEL", 2),
        ],
        "VmEventType": [
            Value("VM_EVENT_UNSPECIFIED", 0),
            Value("VM_EVENT_CREATED", 1),
            Value("VM_EVENT_STARTED", 2),
            Value("VM_EVENT_STOPPED", 3),
            Value("VM_EVENT_DELETED", 4),
        ],
    },
    messages={
        "Vm": [
            Field("id", 1, "string", SINGULAR),
            Field("name", 2, "string", OPTIONAL),
            Field("state", 3, "VmState", SINGULAR),
            Field("config", 4, "VmConfig", SINGULAR),
            Field("created_at", 5, "int64", SINGULAR),
            Field("started_at", 6, "int64", OPTIONAL),
            Field("last_error", 7, "string", OPTIONAL, ext=True),
        ],
        "VmConfig": [
            Field("vcpus", 1, "uint32", SINGULAR),
            Field("memory_mb", 2, "uint64", SINGULAR),
            Field("kernel", 3, "string", OPTIONAL),
            Field("initramfs", 4, "string", OPTIONAL),
            Field("cmdline", 5, "string", OPTIONAL),
            Field("disks", 6, "DiskConfig", REPEATED),
            Field("nics", 7, "NicConfig", REPEATED),
            Field("user_data", 8, "string", OPTIONAL),
            Field("boot_mode", 9, "BootMode", SINGULAR),
            Field("nested_virt", 10, "bool", SINGULAR),
        ],
        "DiskConfig": [
            Field("path", 1, "string", SINGULAR),
            Field("readonly", 2, "bool", SINGULAR),
        ],
        "NicConfig": [
            Field("tap", 1, "string", OPTIONAL),
            Field("mac", 2, "string", OPTIONAL),
            Field("vhost_socket", 3, "string", OPTIONAL),
        ],
        "SystemInfo": [
            Field("total_cpus", 1, "uint32", SINGULAR),
            Field("total_memory_mb", 2, "uint64", SINGULAR),
            Field("allocated_cpus", 3, "uint32", SINGULAR),
            Field("allocated_memory_mb", 4, "uint64", SINGULAR),
            Field("load_1", 5, "float", SINGULAR),
            Field("load_5", 6, "float", SINGULAR),
            Field("load_15", 7, "float", SINGULAR),
        ],
        "VmEvent": [
            Field("vm_id", 1, "string", SINGULAR),
            Field("type", 2, "VmEventType", SINGULAR),
            Field("timestamp", 3, "int64", SINGULAR),
            Field("vm", 4, "Vm", OPTIONAL),
        ],
        "GetSystemInfoRequest": [],
        "ListVmsRequest": [],
        "DeleteVmResponse": [],
        "GetVmRequest": _id_only(),
        "DeleteVmRequest": _id_only(),
        "StartVmRequest": _id_only(),
        "KillVmRequest": _id_only(),
        "PauseVmRequest": _id_only(),
        "ResumeVmRequest": _id_only(),
        "RebootVmRequest": _id_only(),
        "CreateVmRequest": [
            Field("name", 1, "string", OPTIONAL),
            Field("config", 2, "VmConfig", SINGULAR),
        ],
        "ListVmsResponse": [
            Field("vms", 1, "Vm", REPEATED),
        ],
        "StopVmRequest": [
            Field("id", 1, "string", SINGULAR),
            Field("timeout_seconds", 2, "uint32", SINGULAR),
        ],
        "AttachDiskRequest": [
            Field("vm_id", 1, "string", SINGULAR),
            Field("disk", 2, "DiskConfig", SINGULAR),
        ],
        "DetachDiskRequest": [
            Field("vm_id", 1, "string", SINGULAR),
            Field("path", 2, "string", SINGULAR),
        ],
        "AttachNicRequest": [
            Field("vm_id", 1, "string", SINGULAR),
            Field("nic", 2, "NicConfig", SINGULAR),
        ],
        "DetachNicRequest": [
            Field("vm_id", 1, "string", SINGULAR),
            Field("mac", 2, "string", SINGULAR),
        ],
        "ConsoleInput": [
            Field("vm_id", 1, "string", SINGULAR),
            Field("data", 2, "bytes", SINGULAR),
        ],
        "ConsoleOutput": [
            Field("data", 1, "bytes", SINGULAR),
        ],
        "WatchVmsRequest": [
            Field("vm_id", 1, "string", OPTIONAL),
        ],
        "GetConsoleLogRequest": [
            Field("id", 1, "string", SINGULAR),
            Field("max_bytes", 2, "uint64", SINGULAR),
        ],
        "ConsoleLog": [
            Field("data", 1, "bytes", SINGULAR),
            Field("total_bytes", 2, "uint64", SINGULAR),
        ],
    },
)

# ---------------------------------------------------------------------------
# 3. LogService (package mvirt.log)
# ---------------------------------------------------------------------------
LOG_SERVICE = Service(
    package="mvirt.log",
    name="LogService",
    rpcs=[
        Rpc("Log", "LogRequest", "LogResponse", False, False),
        Rpc("Query", "QueryRequest", "LogEntry", False, True),
    ],
    enums={
        "LogLevel": [
            Value("INFO", 0),
            Value("WARN", 1),
            Value("ERROR", 2),
            Value("DEBUG", 3),
            Value("AUDIT", 4),
        ],
    },
    messages={
        "LogEntry": [
            Field("id", 1, "string", SINGULAR),
            Field("timestamp_ns", 2, "int64", SINGULAR),
            Field("message", 3, "string", SINGULAR),
            Field("level", 4, "LogLevel", SINGULAR),
            Field("component", 5, "string", SINGULAR),
            Field("related_object_ids", 6, "string", REPEATED),
        ],
        "QueryRequest": [
            Field("object_id", 1, "string", OPTIONAL),
            Field("start_time_ns", 2, "int64", OPTIONAL),
            Field("end_time_ns", 3, "int64", OPTIONAL),
            Field("limit", 4, "uint32", SINGULAR),
            Field("follow", 5, "bool", SINGULAR),
            Field("descending", 6, "bool", SINGULAR, ext=True),
            Field("component", 7, "string", OPTIONAL, ext=True),
            Field("levels", 8, "LogLevel", REPEATED, ext=True),
        ],
        "LogRequest": [
            Field("entry", 1, "LogEntry", SINGULAR),
        ],
        "LogResponse": [
            Field("id", 1, "string", SINGULAR),
        ],
    },
)

# ---------------------------------------------------------------------------
# 4. ZfsService (package mvirt.zfs)
# ---------------------------------------------------------------------------
ZFS_SERVICE = Service(
    package="mvirt.zfs",
    name="ZfsService",
    rpcs=[
        Rpc("GetPoolStats", "GetPoolStatsRequest", "PoolStats", False, False),
        Rpc("CreateVolume", "CreateVolumeRequest", "Volume", False, False),
        Rpc("ListVolumes", "ListVolumesRequest", "ListVolumesResponse", False, False),
        Rpc("GetVolume", "GetVolumeRequest", "Volume", False, False),
        Rpc("DeleteVolume", "DeleteVolumeRequest", "DeleteVolumeResponse", False, False),
        Rpc("ResizeVolume", "ResizeVolumeRequest", "Volume", False, False),
        Rpc("CreateSnapshot", "CreateSnapshotRequest", "Snapshot", False, False),
        Rpc("ListSnapshots", "ListSnapshotsRequest", "ListSnapshotsResponse", False, False),
        Rpc("DeleteSnapshot", "DeleteSnapshotRequest", "DeleteSnapshotResponse", False, False),
        Rpc("RollbackSnapshot", "RollbackSnapshotRequest", "Volume", False, False),
        Rpc("ImportTemplate", "ImportTemplateRequest", "ImportJob", False, False),
        Rpc("GetImportJob", "GetImportJobRequest", "ImportJob", False, False),
        Rpc("ListImportJobs", "ListImportJobsRequest", "ListImportJobsResponse", False, False),
        Rpc("CancelImportJob", "CancelImportJobRequest", "CancelImportJobResponse", False, False),
        Rpc("ListTemplates", "ListTemplatesRequest", "ListTemplatesResponse", False, False),
        Rpc("DeleteTemplate", "DeleteTemplateRequest", "DeleteTemplateResponse", False, False),
        Rpc("CloneFromTemplate", "CloneFromTemplateRequest", "Volume", False, False),
        Rpc("PromoteSnapshotToTemplate", "PromoteSnapshotRequest", "Template", False, False),
        Rpc("WatchImportJob", "GetImportJobRequest", "ImportJob", False, True, ext=True),
    ],
    enums={
        "ImportJobState": [
            Value("IMPORT_JOB_STATE_UNSPECIFIED", 0),
            Value("IMPORT_JOB_STATE_PENDING", 1),
            Value("IMPORT_JOB_STATE_DOWNLOADING", 2),
            Value("IMPORT_JOB_STATE_CONVERTING", 3),
            Value("IMPORT_JOB_STATE_WRITING", 4),
            Value("IMPORT_JOB_STATE_COMPLETED", 5),
            Value("IMPORT_JOB_STATE_FAILED", 6),
            Value("IMPORT_JOB_STATE_CANCELLED", 7),
        ],
    },
    messages={
        "PoolStats": [
            Field("name", 1, "string", SINGULAR),
            Field("total_bytes", 2, "uint64", SINGULAR),
            Field("available_bytes", 3, "uint64", SINGULAR),
            Field("used_bytes", 4, "uint64", SINGULAR),
            Field("provisioned_bytes", 5, "uint64", SINGULAR),
            Field("compression_ratio", 6, "double", SINGULAR),
        ],
        "Volume": [
            Field("id", 1, "string", SINGULAR),
            Field("name", 2, "string", SINGULAR),
            Field("path", 3, "string", SINGULAR),
            Field("volsize_bytes", 4, "uint64", SINGULAR),
            Field("used_bytes", 5, "uint64", SINGULAR),
            Field("volblocksize", 6, "uint64", SINGULAR),
            Field("compression_ratio", 7, "double", SINGULAR),
            Field("created_at", 8, "string", SINGULAR),
            Field("snapshots", 9, "Snapshot", REPEATED),
        ],
        "Snapshot": [
            Field("id", 1, "string", SINGULAR),
            Field("name", 2, "string", SINGULAR),
            Field("full_name", 3, "string", SINGULAR),
            Field("used_bytes", 4, "uint64", SINGULAR),
            Field("created_at", 5, "string", SINGULAR),
        ],
        "Template": [
            Field("id", 1, "string", SINGULAR),
            Field("name", 2, "string", SINGULAR),
            Field("snapshot_path", 3, "string", SINGULAR),
            Field("source_volume", 4, "string", SINGULAR),
            Field("size_bytes", 5, "uint64", SINGULAR),
            Field("created_at", 6, "string", SINGULAR),
            Field("clone_count", 7, "uint32", SINGULAR),
        ],
        "ImportJob": [
            Field("id", 1, "string", SINGULAR),
            Field("template_name", 2, "string", SINGULAR),
            Field("source", 3, "string", SINGULAR),
            Field("state", 4, "ImportJobState", SINGULAR),
            Field("bytes_written", 5, "uint64", SINGULAR),
            Field("total_bytes", 6, "uint64", SINGULAR),
            Field("error", 7, "string", OPTIONAL),
            Field("template", 8, "Template", OPTIONAL),
            Field("created_at", 9, "string", SINGULAR),
            Field("completed_at", 10, "string", OPTIONAL),
        ],
        "GetPoolStatsRequest": [],
        "ListVolumesRequest": [],
        "ListTemplatesRequest": [],
        "CreateVolumeRequest": [
            Field("name", 1, "string", SINGULAR),
            Field("size_bytes", 2, "uint64", SINGULAR),
            Field("volblocksize", 3, "uint32", OPTIONAL),
        ],
        "ListVolumesResponse": [
            Field("volumes", 1, "Volume", REPEATED),
        ],
        "GetVolumeRequest": [Field("name", 1, "string", SINGULAR)],
        "DeleteVolumeRequest": [Field("name", 1, "string", SINGULAR)],
        "DeleteTemplateRequest": [Field("name", 1, "string", SINGULAR)],
        "DeleteVolumeResponse": [Field("deleted", 1, "bool", SINGULAR)],
        "DeleteSnapshotResponse": [Field("deleted", 1, "bool", SINGULAR)],
        "DeleteTemplateResponse": [Field("deleted", 1, "bool", SINGULAR)],
        "ResizeVolumeRequest": [
            Field("name", 1, "string", SINGULAR),
            Field("new_size_bytes", 2, "uint64", SINGULAR),
        ],
        "CreateSnapshotRequest": [
            Field("volume_name", 1, "string", SINGULAR),
            Field("snapshot_name", 2, "string", SINGULAR),
        ],
        "DeleteSnapshotRequest": [
            Field("volume_name", 1, "string", SINGULAR),
            Field("snapshot_name", 2, "string", SINGULAR),
        ],
        "RollbackSnapshotRequest": [
            Field("volume_name", 1, "string", SINGULAR),
            Field("snapshot_name", 2, "string", SINGULAR),
        ],
        "ListSnapshotsRequest": [
            Field("volume_name", 1, "string", SINGULAR),
        ],
        "ListSnapshotsResponse": [
            Field("snapshots", 1, "Snapshot", REPEATED),
        ],
        "ImportTemplateRequest": [
            Field("name", 1, "string", SINGULAR),
            Field("source", 2, "string", SINGULAR),
            Field("size_bytes", 3, "uint64", OPTIONAL),
            Field("sha256", 4, "string", OPTIONAL, ext=True),
        ],
        "GetImportJobRequest": [Field("id", 1, "string", SINGULAR)],
        "CancelImportJobRequest": [Field("id", 1, "string", SINGULAR)],
        "ListImportJobsRequest": [
            Field("include_completed", 1, "bool", SINGULAR),
        ],
        "ListImportJobsResponse": [
            Field("jobs", 1, "ImportJob", REPEATED),
        ],
        "CancelImportJobResponse": [
            Field("cancelled", 1, "bool", SINGULAR),
        ],
        "ListTemplatesResponse": [
            Field("templates", 1, "Template", REPEATED),
        ],
        "CloneFromTemplateRequest": [
            Field("template_name", 1, "string", SINGULAR),
            Field("new_volume_name", 2, "string", SINGULAR),
            Field("size_bytes", 3, "uint64", OPTIONAL),
        ],
        "PromoteSnapshotRequest": [
            Field("volume_name", 1, "string", SINGULAR),
            Field("snapshot_name", 2, "string", SINGULAR),
            Field("template_name", 3, "string", SINGULAR),
        ],
    },
)

# ---------------------------------------------------------------------------
# 5. NetService (package mvirt.net) -- no wire extensions
# ---------------------------------------------------------------------------
NET_SERVICE = Service(
    package="mvirt.net",
    name="NetService",
    rpcs=[
        Rpc("CreateNetwork", "CreateNetworkRequest", "Network", False, False),
        Rpc("GetNetwork", "GetNetworkRequest", "Network", False, False),
        Rpc("ListNetworks", "ListNetworksRequest", "ListNetworksResponse", False, False),
        Rpc("UpdateNetwork", "UpdateNetworkRequest", "Network", False, False),
        Rpc("DeleteNetwork", "DeleteNetworkRequest", "DeleteNetworkResponse", False, False),
        Rpc("CreateNic", "CreateNicRequest", "Nic", False, False),
        Rpc("GetNic", "GetNicRequest", "Nic", False, False),
        Rpc("ListNics", "ListNicsRequest", "ListNicsResponse", False, False),
        Rpc("UpdateNic", "UpdateNicRequest", "Nic", False, False),
        Rpc("DeleteNic", "DeleteNicRequest", "DeleteNicResponse", False, False),
    ],
    enums={
        "NicState": [
            Value("NIC_STATE_UNSPECIFIED", 0),
            Value("NIC_STATE_CREATED", 1),
            Value("NIC_STATE_ACTIVE", 2),
            Value("NIC_STATE_ERROR", 3),
        ],
    },
    messages={
        "Network": [
            Field("id", 1, "string", SINGULAR),
            Field("name", 2, "string", SINGULAR),
            Field("ipv4_enabled", 3, "bool", SINGULAR),
            Field("ipv4_subnet", 4, "string", SINGULAR),
            Field("ipv6_enabled", 5, "bool", SINGULAR),
            Field("ipv6_prefix", 6, "string", SINGULAR),
            Field("dns_servers", 7, "string", REPEATED),
            Field("ntp_servers", 8, "string", REPEATED),
            Field("nic_count", 9, "uint32", SINGULAR),
            Field("created_at", 10, "string", SINGULAR),
            Field("updated_at", 11, "string", SINGULAR),
        ],
        "Nic": [
            Field("id", 1, "string", SINGULAR),
            Field("name", 2, "string", SINGULAR),
            Field("network_id", 3, "string", SINGULAR),
            Field("mac_address", 4, "string", SINGULAR),
            Field("ipv4_address", 5, "string", SINGULAR),
            Field("ipv6_address", 6, "string", SINGULAR),
            Field("routed_ipv4_prefixes", 7, "string", REPEATED),
            Field("routed_ipv6_prefixes", 8, "string", REPEATED),
            Field("socket_path", 9, "string", SINGULAR),
            Field("state", 10, "NicState", SINGULAR),
            Field("created_at", 11, "string", SINGULAR),
            Field("updated_at", 12, "string", SINGULAR),
        ],
        "CreateNetworkRequest": [
            Field("name", 1, "string", SINGULAR),
            Field("ipv4_enabled", 2, "bool", SINGULAR),
            Field("ipv4_subnet", 3, "string", SINGULAR),
            Field("ipv6_enabled", 4, "bool", SINGULAR),
            Field("ipv6_prefix", 5, "string", SINGULAR),
            Field("dns_servers", 6, "string", REPEATED),
            Field("ntp_servers", 7, "string", REPEATED),
        ],
        "GetNetworkRequest": [
            Field("id", 1, "string", ONEOF("identifier")),
            Field("name", 2, "string", ONEOF("identifier")),
        ],
        "GetNicRequest": [
            Field("id", 1, "string", ONEOF("identifier")),
            Field("name", 2, "string", ONEOF("identifier")),
        ],
        "ListNetworksRequest": [],
        "ListNetworksResponse": [
            Field("networks", 1, "Network", REPEATED),
        ],
        "UpdateNetworkRequest": [
            Field("id", 1, "string", SINGULAR),
            Field("dns_servers", 2, "string", REPEATED),
            Field("ntp_servers", 3, "string", REPEATED),
        ],
        "DeleteNetworkRequest": [
            Field("id", 1, "string", SINGULAR),
            Field("force", 2, "bool", SINGULAR),
        ],
        "DeleteNetworkResponse": [
            Field("deleted", 1, "bool", SINGULAR),
            Field("nics_deleted", 2, "uint32", SINGULAR),
        ],
        "CreateNicRequest": [
            Field("network_id", 1, "string", SINGULAR),
            Field("name", 2, "string", SINGULAR),
            Field("mac_address", 3, "string", SINGULAR),
            Field("ipv4_address", 4, "string", SINGULAR),
            Field("ipv6_address", 5, "string", SINGULAR),
            Field("routed_ipv4_prefixes", 6, "string", REPEATED),
            Field("routed_ipv6_prefixes", 7, "string", REPEATED),
        ],
        "ListNicsRequest": [
            Field("network_id", 1, "string", SINGULAR),
        ],
        "ListNicsResponse": [
            Field("nics", 1, "Nic", REPEATED),
        ],
        "UpdateNicRequest": [
            Field("id", 1, "string", SINGULAR),
            Field("routed_ipv4_prefixes", 2, "string", REPEATED),
            Field("routed_ipv6_prefixes", 3, "string", REPEATED),
        ],
        "DeleteNicRequest": [
            Field("id", 1, "string", SINGULAR),
        ],
        "DeleteNicResponse": [
            Field("deleted", 1, "bool", SINGULAR),
        ],
    },
)

SERVICES = [VM_SERVICE, LOG_SERVICE, ZFS_SERVICE, NET_SERVICE]


# ---------------------------------------------------------------------------
# Standard gRPC services we also serve (not part of api.md's tables; upstream
# public interfaces, proto/grpc/...). Checked so that stock health and
# reflection clients keep working.
# ---------------------------------------------------------------------------
HEALTH_V1 = Service(
    package="grpc.health.v1",
    name="Health",
    rpcs=[
        Rpc("Check", "HealthCheckRequest", "HealthCheckResponse", False, False),
        Rpc("Watch", "HealthCheckRequest", "HealthCheckResponse", False, True),
    ],
    enums={
        "HealthCheckResponse.ServingStatus": [
            Value("UNKNOWN", 0),
            Value("SERVING", 1),
            Value("NOT_SERVING", 2),
            Value("SERVICE_UNKNOWN", 3),
        ],
    },
    messages={
        "HealthCheckRequest": [Field("service", 1, "string", SINGULAR)],
        "HealthCheckResponse": [
            Field("status", 1, "HealthCheckResponse.ServingStatus", SINGULAR),
        ],
    },
)


def _reflection(package):
    req = ONEOF("message_request")
    resp = ONEOF("message_response")
    return Service(
        package=package,
        name="ServerReflection",
        rpcs=[
            Rpc("ServerReflectionInfo", "ServerReflectionRequest",
                "ServerReflectionResponse", True, True),
        ],
        enums={},
        messages={
            "ServerReflectionRequest": [
                Field("host", 1, "string", SINGULAR),
                Field("file_by_filename", 3, "string", req),
                Field("file_containing_symbol", 4, "string", req),
                Field("file_containing_extension", 5, "ExtensionRequest", req),
                Field("all_extension_numbers_of_type", 6, "string", req),
                Field("list_services", 7, "string", req),
            ],
            "ExtensionRequest": [
                Field("containing_type", 1, "string", SINGULAR),
                Field("extension_number", 2, "int32", SINGULAR),
            ],
            "ServerReflectionResponse": [
                Field("valid_host", 1, "string", SINGULAR),
                Field("original_request", 2, "ServerReflectionRequest", SINGULAR),
                Field("file_descriptor_response", 4, "FileDescriptorResponse", resp),
                Field("all_extension_numbers_response", 5, "ExtensionNumberResponse", resp),
                Field("list_services_response", 6, "ListServiceResponse", resp),
                Field("error_response", 7, "ErrorResponse", resp),
            ],
            "FileDescriptorResponse": [
                Field("file_descriptor_proto", 1, "bytes", REPEATED),
            ],
            "ExtensionNumberResponse": [
                Field("base_type_name", 1, "string", SINGULAR),
                Field("extension_number", 2, "int32", REPEATED),
            ],
            "ListServiceResponse": [
                Field("service", 1, "ServiceResponse", REPEATED),
            ],
            "ServiceResponse": [
                Field("name", 1, "string", SINGULAR),
            ],
            "ErrorResponse": [
                Field("error_code", 1, "int32", SINGULAR),
                Field("error_message", 2, "string", SINGULAR),
            ],
        },
    )


REFLECTION_V1 = _reflection("grpc.reflection.v1")
REFLECTION_V1ALPHA = _reflection("grpc.reflection.v1alpha")

STANDARD_SERVICES = [HEALTH_V1, REFLECTION_V1, REFLECTION_V1ALPHA]
