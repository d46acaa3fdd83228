/* SPDX-License-Identifier: MIT */
/* mvirt.VmService on the daemon's gRPC server. */
#pragma once

#include "vmmd.h"

int vmm_service_new(sd_event *event, struct vmstore *store, struct audit_client *audit,
		    const struct vmm_config *cfg, unsigned threads, struct vmm **out);
const struct grpc_service *vmm_service_grpc(struct vmm *vmm);
/* Recovery (blocking): re-adopt live hypervisors, mark dead ones stopped. */
void vmm_service_start(struct vmm *vmm);
/* Finish queued work and free; hypervisors keep running. */
void vmm_service_free(struct vmm *vmm);
