/* SPDX-License-Identifier: MIT */
/*
 * The standard health service, grpc.health.v1.Health: Check and Watch.
 * "" and every registered service report SERVING until shutdown begins,
 * then NOT_SERVING; unknown names are SERVICE_UNKNOWN (Check: NOT_FOUND).
 */
#pragma once

#include "server.h"

struct grpc_health;

struct grpc_health *grpc_health_register(struct grpc_server *s);
void grpc_health_free(struct grpc_health *h);
