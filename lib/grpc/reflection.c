/* SPDX-License-Identifier: MIT */
/*
 * Server reflection (grpc.reflection.v1 and v1alpha, which share one wire
 * format) from the descriptor set embedded at build time. The set is indexed
 * once: each file's encoded FileDescriptorProto, its dependencies, and every
 * fully-qualified symbol it defines (messages, nested types, enums,
 * services, methods).
 */
#include "reflection.h"

#include "log.h"
#include "pbwire.h"
#include "reflection_v1.pb-c.h"

struct refl_file {
	char *name;
	const uint8_t *data;
	size_t len;
	char **deps;
	size_t n_deps;
};

struct refl_symbol {
	char *name;
	size_t file;
};

struct grpc_reflection {
	struct grpc_server *server;
	struct refl_file *files;
	size_t n_files;
	struct refl_symbol *symbols;
	size_t n_symbols;
	struct grpc_service svc_v1, svc_v1alpha;
};

static char *pb_strdup(const struct pb_field *f)
{
	return xstrndup((const char *)f->data, f->len);
}

static void add_symbol(struct grpc_reflection *r, size_t file, const char *scope,
		       const struct pb_field *name)
{
	_cleanup_free_ char *n = pb_strdup(name);

	r->symbols = xrealloc(r->symbols, (r->n_symbols + 1) * sizeof(*r->symbols));
	r->symbols[r->n_symbols++] = (struct refl_symbol){
		.name = scope[0] ? xasprintf("%s.%s", scope, n) : xstrdup(n),
		.file = file,
	};
}

/* The name (field 1) of a DescriptorProto / EnumDescriptorProto / Service... */
static int first_name(const uint8_t *data, size_t len, struct pb_field *name)
{
	struct pb_reader rd = { data, data + len };
	struct pb_field f;
	int r;

	while ((r = pb_next(&rd, &f)) > 0)
		if (f.number == 1 && f.type == PB_LEN) {
			*name = f;
			return 0;
		}
	return r < 0 ? r : -ENOENT;
}

/* A message type and, recursively, its nested messages (3) and enums (4). */
static int index_message(struct grpc_reflection *r, size_t file, const char *scope,
			 const uint8_t *data, size_t len)
{
	struct pb_reader rd = { data, data + len };
	struct pb_field f, name;
	_cleanup_free_ char *full = NULL;
	int k;

	if (first_name(data, len, &name) < 0)
		return -EBADMSG;
	add_symbol(r, file, scope, &name);
	full = xstrdup(r->symbols[r->n_symbols - 1].name);
	while ((k = pb_next(&rd, &f)) > 0) {
		if (f.type != PB_LEN)
			continue;
		if (f.number == 3 && index_message(r, file, full, f.data, f.len) < 0)
			return -EBADMSG;
		if (f.number == 4) {
			struct pb_field en;
			if (first_name(f.data, f.len, &en) < 0)
				return -EBADMSG;
			add_symbol(r, file, full, &en);
		}
	}
	return k;
}

static int index_service(struct grpc_reflection *r, size_t file, const char *scope,
			 const uint8_t *data, size_t len)
{
	struct pb_reader rd = { data, data + len };
	struct pb_field f, name;
	_cleanup_free_ char *full = NULL;
	int k;

	if (first_name(data, len, &name) < 0)
		return -EBADMSG;
	add_symbol(r, file, scope, &name);
	full = xstrdup(r->symbols[r->n_symbols - 1].name);
	while ((k = pb_next(&rd, &f)) > 0) {
		struct pb_field mn;
		if (f.number != 2 || f.type != PB_LEN)
			continue;
		if (first_name(f.data, f.len, &mn) < 0)
			return -EBADMSG;
		add_symbol(r, file, full, &mn);
	}
	return k;
}

static int index_file(struct grpc_reflection *r, const uint8_t *data, size_t len)
{
	struct pb_reader rd = { data, data + len };
	struct refl_file *file;
	_cleanup_free_ char *pkg = xstrdup("");
	size_t idx = r->n_files;
	struct pb_field f;
	int k;

	r->files = xrealloc(r->files, (r->n_files + 1) * sizeof(*r->files));
	file = &r->files[r->n_files++];
	*file = (struct refl_file){ .data = data, .len = len };
	/* the package comes before the definitions in protoc's encoding, but do
	 * not rely on it: find it first */
	while ((k = pb_next(&rd, &f)) > 0)
		if (f.number == 2 && f.type == PB_LEN) {
			free(pkg);
			pkg = pb_strdup(&f);
		}
	if (k < 0)
		return k;
	rd = (struct pb_reader){ data, data + len };
	while ((k = pb_next(&rd, &f)) > 0) {
		if (f.type != PB_LEN)
			continue;
		file = &r->files[idx];
		switch (f.number) {
		case 1:
			free(file->name);
			file->name = pb_strdup(&f);
			break;
		case 3:
			file->deps = xrealloc(file->deps, (file->n_deps + 1) * sizeof(char *));
			file->deps[file->n_deps++] = pb_strdup(&f);
			break;
		case 4:
			k = index_message(r, idx, pkg, f.data, f.len);
			break;
		case 5: {
			struct pb_field en;
			k = first_name(f.data, f.len, &en);
			if (k == 0)
				add_symbol(r, idx, pkg, &en);
			break;
		}
		case 6:
			k = index_service(r, idx, pkg, f.data, f.len);
			break;
		}
		if (k < 0)
			return -EBADMSG;
	}
	if (!r->files[idx].name)
		return -EBADMSG;
	return k;
}

int grpc_reflection_index(struct grpc_reflection *r, const uint8_t *set, size_t len)
{
	struct pb_reader rd = { set, set + len };
	struct pb_field f;
	int k;

	while ((k = pb_next(&rd, &f)) > 0)
		if (f.number == 1 && f.type == PB_LEN && index_file(r, f.data, f.len) < 0)
			return -EBADMSG;
	return k;
}

static ssize_t find_file(const struct grpc_reflection *r, const char *name)
{
	for (size_t i = 0; i < r->n_files; i++)
		if (streq(r->files[i].name, name))
			return (ssize_t)i;
	return -1;
}

ssize_t grpc_reflection_find_symbol(const struct grpc_reflection *r, const char *symbol)
{
	for (size_t i = 0; i < r->n_symbols; i++)
		if (streq(r->symbols[i].name, symbol))
			return (ssize_t)r->symbols[i].file;
	return -1;
}

/* The file and, transitively, what it imports; each once. */
static void collect_files(const struct grpc_reflection *r, size_t file, bool *seen,
			  ProtobufCBinaryData *out, size_t *n)
{
	if (seen[file])
		return;
	seen[file] = true;
	out[(*n)++] = (ProtobufCBinaryData){ r->files[file].len, (uint8_t *)r->files[file].data };
	for (size_t d = 0; d < r->files[file].n_deps; d++) {
		ssize_t dep = find_file(r, r->files[file].deps[d]);
		if (dep >= 0)
			collect_files(r, (size_t)dep, seen, out, n);
	}
}

static void reply_error(Grpc__Reflection__V1__ServerReflectionResponse *resp,
			Grpc__Reflection__V1__ErrorResponse *err, int code, const char *msg)
{
	err->error_code = code;
	err->error_message = (char *)msg;
	resp->message_response_case =
		GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
	resp->error_response = err;
}

static void refl_on_message(struct grpc_call *call, const ProtobufCMessage *m, void *ud)
{
	const Grpc__Reflection__V1__ServerReflectionRequest *req = (const void *)m;
	struct grpc_reflection *r = ud;
	Grpc__Reflection__V1__ServerReflectionResponse resp =
		GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__INIT;
	Grpc__Reflection__V1__ErrorResponse err = GRPC__REFLECTION__V1__ERROR_RESPONSE__INIT;
	Grpc__Reflection__V1__FileDescriptorResponse fdr =
		GRPC__REFLECTION__V1__FILE_DESCRIPTOR_RESPONSE__INIT;
	Grpc__Reflection__V1__ListServiceResponse lsr =
		GRPC__REFLECTION__V1__LIST_SERVICE_RESPONSE__INIT;
	Grpc__Reflection__V1__ExtensionNumberResponse enr =
		GRPC__REFLECTION__V1__EXTENSION_NUMBER_RESPONSE__INIT;
	_cleanup_free_ ProtobufCBinaryData *files = NULL;
	_cleanup_free_ bool *seen = NULL;
	_cleanup_free_ Grpc__Reflection__V1__ServiceResponse *svcs = NULL;
	_cleanup_free_ Grpc__Reflection__V1__ServiceResponse **svcp = NULL;
	ssize_t file = -1;

	resp.valid_host = req->host;
	resp.original_request = (Grpc__Reflection__V1__ServerReflectionRequest *)req;
	switch (req->message_request_case) {
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES: {
		const char **names;
		size_t n = grpc_server_services(r->server, &names);
		svcs = xcalloc(n, sizeof(*svcs));
		svcp = xcalloc(n, sizeof(*svcp));
		for (size_t i = 0; i < n; i++) {
			grpc__reflection__v1__service_response__init(&svcs[i]);
			svcs[i].name = (char *)names[i];
			svcp[i] = &svcs[i];
		}
		lsr.n_service = n;
		lsr.service = svcp;
		resp.message_response_case =
			GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
		resp.list_services_response = &lsr;
		break;
	}
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
		file = find_file(r, req->file_by_filename);
		if (file < 0)
			reply_error(&resp, &err, GRPC_NOT_FOUND, "File not found");
		break;
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
		file = grpc_reflection_find_symbol(r, req->file_containing_symbol);
		if (file < 0)
			reply_error(&resp, &err, GRPC_NOT_FOUND, "Symbol not found");
		break;
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE:
		if (grpc_reflection_find_symbol(r, req->all_extension_numbers_of_type) < 0) {
			reply_error(&resp, &err, GRPC_NOT_FOUND, "Type not found");
			break;
		}
		/* proto3 types have no extensions */
		enr.base_type_name = req->all_extension_numbers_of_type;
		resp.message_response_case =
			GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE;
		resp.all_extension_numbers_response = &enr;
		break;
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION:
		reply_error(&resp, &err, GRPC_NOT_FOUND, "Extension not found");
		break;
	default:
		reply_error(&resp, &err, GRPC_INVALID_ARGUMENT, "unknown reflection request");
	}
	if (file >= 0) {
		size_t n = 0;
		files = xcalloc(r->n_files, sizeof(*files));
		seen = xcalloc(r->n_files, sizeof(*seen));
		collect_files(r, (size_t)file, seen, files, &n);
		fdr.n_file_descriptor_proto = n;
		fdr.file_descriptor_proto = files;
		resp.message_response_case =
			GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
		resp.file_descriptor_response = &fdr;
	}
	grpc_call_send(call, &resp.base);
}

static void refl_on_half_close(struct grpc_call *call, void *ud)
{
	(void)ud;
	grpc_call_finish(call, GRPC_OK, NULL);
}

static const struct grpc_call_handlers refl_handlers = {
	.on_message = refl_on_message,
	.on_half_close = refl_on_half_close,
};

static void refl_start(struct grpc_call *call, const ProtobufCMessage *req, void *ud)
{
	(void)req;
	grpc_call_set_handlers(call, &refl_handlers, ud);
}

static const struct grpc_method refl_methods[] = {
	{ "ServerReflectionInfo", GRPC_BIDI_STREAMING,
	  &grpc__reflection__v1__server_reflection_request__descriptor,
	  &grpc__reflection__v1__server_reflection_response__descriptor, refl_start },
};

int grpc_reflection_new(const uint8_t *set, size_t len, struct grpc_reflection **out)
{
	struct grpc_reflection *r = xcalloc(1, sizeof(*r));

	if (grpc_reflection_index(r, set, len) < 0) {
		grpc_reflection_free(r);
		return -EBADMSG;
	}
	*out = r;
	return 0;
}

int grpc_reflection_register(struct grpc_reflection *r, struct grpc_server *s)
{
	/* v1alpha has the same messages in another package: the same wire
	 * format, so the v1 message types serve both. */
	r->server = s;
	r->svc_v1 = (struct grpc_service){ "grpc.reflection.v1.ServerReflection", refl_methods,
					   ARRAY_SIZE(refl_methods), r, NULL };
	r->svc_v1alpha = (struct grpc_service){ "grpc.reflection.v1alpha.ServerReflection",
						refl_methods, ARRAY_SIZE(refl_methods), r, NULL };
	grpc_server_add_service(s, &r->svc_v1);
	grpc_server_add_service(s, &r->svc_v1alpha);
	return 0;
}

void grpc_reflection_free(struct grpc_reflection *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_files; i++) {
		free(r->files[i].name);
		for (size_t d = 0; d < r->files[i].n_deps; d++)
			free(r->files[i].deps[d]);
		free(r->files[i].deps);
	}
	for (size_t i = 0; i < r->n_symbols; i++)
		free(r->symbols[i].name);
	free(r->files);
	free(r->symbols);
	free(r);
}
