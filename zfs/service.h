/* SPDX-License-Identifier: MIT */
/* mvirt.zfs.ZfsService on the daemon's gRPC server. */
#pragma once

#include "zfsd.h"

/* threads: worker threads for the RPCs (imports have their own). */
int zfs_service_new(sd_event *event, struct zstore *store, struct zp *zp,
		    struct audit_client *audit, const struct zfs_service_config *cfg,
		    unsigned threads, struct zsvc **out);
const struct grpc_service *zfs_service_grpc(struct zsvc *svc);
/* Recovery at start (blocking): interrupted imports, orphaned bases. */
void zfs_service_start(struct zsvc *svc);
/* Stops running imports (they end FAILED, cleaned up), finishes queued
 * work, frees. */
void zfs_service_free(struct zsvc *svc);
