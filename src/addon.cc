// addon.cc: the one binding file (node-addon-api, built without C++ exceptions).
//
// Owns the JavaScript side of a store: copies inputs out of JavaScript into C requests, hands them
// to the store's ddbs_client (client.c, its own thread), and settles each request's promise when the
// worker's thread-safe function fires. Runs on the JavaScript thread only, except Notify(), which
// the worker thread calls.
//
// Lifetimes: a Core (heap) holds the client, the thread-safe function and the bookkeeping. It is
// torn down by close() once nothing is in flight, by the env cleanup hook (worker exit), or by the
// JS wrapper's finalizer; it is freed in the thread-safe function's finalizer, after which no call
// can reach it. The thread-safe function is unref'd while nothing is in flight, so an idle store
// never keeps the process alive. Per-env state lives in instance data, never in statics.
#include <napi.h>
#include <uv.h>

#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include "core.h"
}

namespace {

// The encryption keys of a store's config, copied out of JavaScript for ddbs_client_new (which
// copies them again); wiped when it goes out of scope. Plain arrays: no std container instantiated
// here can end up exported from the addon.
struct KeyCopy {
  static constexpr uint32_t kMax = 255;
  char ids[kMax][DDBS_BLOB_KEY_ID_MAX + 1] = {};
  const char* ptrs[kMax] = {};
  unsigned char bytes[kMax * DDBS_BLOB_KEY_LEN] = {};
  KeyCopy() = default;
  KeyCopy(const KeyCopy&) = delete;
  KeyCopy& operator=(const KeyCopy&) = delete;
  ~KeyCopy() {
    ddbs_secure_zero(bytes, sizeof bytes);
    ddbs_secure_zero(ids, sizeof ids);
  }
};

struct AddonData {
  Napi::FunctionReference errorClass;  // set by setup(); Error when unset
  bool coreInitialized = false;
  ~AddonData() {
    if (coreInitialized) ddbs_core_global_cleanup();
  }
};

struct Core;

// The user pointer of every ddbs_request: the promise to settle.
struct Pending {
  napi_deferred deferred;
};

struct Core {
  napi_env env = nullptr;
  ddbs_client* client = nullptr;
  napi_threadsafe_function tsfn = nullptr;
  size_t inflight = 0;
  bool refed = false;
  bool closing = false;
  bool tornDown = false;
  bool hookAdded = false;
  std::vector<napi_deferred> closeWaiters;
  uv_loop_t* loop = nullptr;     // for the turn check in Drain
  uint64_t turnNow = 0;          // uv_now() of the loop turn Drain last ran in
  uint64_t turnStartNs = 0;      // when Drain first ran in that turn
  napi_ref wrapper = nullptr;  // the JS object; strong while requests are in flight
  Core** ownerSlot = nullptr;  // the wrapper's pointer to us, cleared when we are freed
  std::string table;

  static void Notify(void* user);  // worker thread
  static void CallJs(napi_env env, napi_value, void* context, void*);
  static void Finalize(napi_env, void* data, void*);
  static void CleanupHook(void* arg);

  void Drain(napi_env env);
  void Teardown(bool abort);
  bool Settle(napi_env env, ddbs_request* r);
  void FreeList(ddbs_request* list);
};

AddonData* GetData(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

void Core::Notify(void* user) {
  Core* core = static_cast<Core*>(user);
  // napi_closing after teardown started: nothing to do, the owner drains on its own.
  napi_call_threadsafe_function(core->tsfn, nullptr, napi_tsfn_nonblocking);
}

void Core::CallJs(napi_env env, napi_value, void* context, void*) {
  if (env == nullptr) return;  // the function is being torn down
  static_cast<Core*>(context)->Drain(env);
}

void Core::Finalize(napi_env env, void* data, void*) {
  Core* core = static_cast<Core*>(data);
  if (core->ownerSlot) *core->ownerSlot = nullptr;  // the wrapper must not reach a freed Core
  if (core->wrapper && env) napi_delete_reference(env, core->wrapper);
  delete core;
}

void Core::CleanupHook(void* arg) {
  Core* core = static_cast<Core*>(arg);
  core->hookAdded = false;  // Node removes a hook once it ran
  core->Teardown(true);
}

// The completion path uses raw napi calls whose status is checked, never node-addon-api calls that
// throw on failure: a completion can be delivered while the environment is being torn down (a
// worker_thread terminated with requests in flight), when no JavaScript can run and every call
// fails; node-addon-api built without C++ exceptions would turn such a failure into
// napi_fatal_error and abort the whole process. A failed call here means: stop settling.

// Sets a property; false when the environment cannot run JavaScript any more.
bool SetProp(napi_env env, napi_value obj, const char* name, napi_value v) {
  return v != nullptr && napi_set_named_property(env, obj, name, v) == napi_ok;
}

napi_value Str(napi_env env, const char* s, size_t n = NAPI_AUTO_LENGTH) {
  napi_value v = nullptr;
  if (napi_create_string_utf8(env, s, n, &v) != napi_ok) return nullptr;
  return v;
}

// A DynamoDBStoreError (or Error) with code and message, and, for a failed request r, its details;
// nullptr when the environment cannot run JavaScript any more.
napi_value MakeError(napi_env env, const char* code, const char* message, const ddbs_request* r) {
  napi_value msg = Str(env, message);
  if (!msg) return nullptr;
  napi_value err = nullptr;
  AddonData* data = nullptr;
  napi_get_instance_data(env, reinterpret_cast<void**>(&data));
  if (data && !data->errorClass.IsEmpty()) {
    napi_value ctor = nullptr;
    if (napi_get_reference_value(env, data->errorClass, &ctor) == napi_ok && ctor &&
        napi_new_instance(env, ctor, 1, &msg, &err) != napi_ok) {
      bool pending = false;
      if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
        napi_value ignored;
        napi_get_and_clear_last_exception(env, &ignored);
      }
      err = nullptr;
    }
  }
  if (!err && napi_create_error(env, nullptr, msg, &err) != napi_ok) return nullptr;
  napi_value v;
  bool ok = SetProp(env, err, "code", Str(env, code));
  if (ok && r) ok = SetProp(env, err, "operation", Str(env, r->op_name));
  if (ok && r && r->http_status > 0)
    ok = napi_create_double(env, (double)r->http_status, &v) == napi_ok && SetProp(env, err, "httpStatusCode", v);
  if (ok && r && r->request_id[0]) ok = SetProp(env, err, "requestId", Str(env, r->request_id));
  if (ok && r) ok = napi_create_int32(env, r->attempts, &v) == napi_ok && SetProp(env, err, "attempts", v);
  if (ok && r) ok = napi_create_int32(env, r->throttles, &v) == napi_ok && SetProp(env, err, "throttles", v);
  if (ok) ok = napi_get_boolean(env, r && r->retryable != 0, &v) == napi_ok && SetProp(env, err, "retryable", v);
  return ok ? err : nullptr;
}

napi_value MakeError(napi_env env, ddbs_request* r) {
  return MakeError(env, r->err_code, r->err_message[0] ? r->err_message : r->err_code, r);
}

// Throws a TypeError from a JavaScript call; does nothing when the environment cannot take it.
void ThrowType(napi_env env, const char* message) { napi_throw_type_error(env, nullptr, message); }

// Settles r's promise and frees r. false when the environment cannot run JavaScript any more.
bool Core::Settle(napi_env env, ddbs_request* r) {
  Pending* p = static_cast<Pending*>(r->user);
  napi_value v = nullptr;
  bool ok;
  if (r->status == DDBS_FAILED) {
    v = MakeError(env, r);
    ok = v && napi_reject_deferred(env, p->deferred, v) == napi_ok;
  } else {
    // the reserved field the worker filled (ddbs_request_write_meta), then the payload
    if (r->result.len >= DDBS_RESULT_META)
      v = Str(env, r->result.data, r->result.len);
    else
      v = Str(env, "", 0);  // (no field: an answer lib/stats.js reads as empty)
    ok = v && napi_resolve_deferred(env, p->deferred, v) == napi_ok;
  }
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
  }
  delete p;
  ddbs_request_free(r);
  return ok;
}

// Node's thread-safe function dispatches queued calls in a loop (up to 1000) before it returns to
// the event loop. Under sustained load the worker keeps refilling the queue, so without a limit
// one dispatch could hold the JavaScript thread for seconds and starve timers and I/O. So: after
// 2 ms of work within one loop turn, leave the rest for the next turn (the worker notifies again
// 1 ms later, after the dispatch loop has found its queue empty and returned).
constexpr uint64_t kTurnBudgetNs = 2000000;

void Core::Drain(napi_env env) {
  if (!client) return;
  if (loop) {
    uint64_t now = uv_now(loop), t = uv_hrtime();
    if (now != turnNow) {
      turnNow = now;
      turnStartNs = t;
    } else if (t - turnStartNs > kTurnBudgetNs) {
      ddbs_client_renotify_later(client, 1);
      return;
    }
  }
  ddbs_request* list = ddbs_client_take_completed(client);
  bool alive = true;
  while (list) {
    ddbs_request* r = list;
    list = r->next;
    r->next = nullptr;
    inflight--;
    napi_handle_scope scope = nullptr;
    if (alive && napi_open_handle_scope(env, &scope) == napi_ok) {
      alive = Settle(env, r);
      napi_close_handle_scope(env, scope);
    } else {
      alive = false;  // JavaScript cannot run: nobody can await these any more
      delete static_cast<Pending*>(r->user);
      ddbs_request_free(r);
    }
  }
  if (!alive) return;
  if (inflight == 0) {
    if (refed) {
      napi_unref_threadsafe_function(env, tsfn);
      if (wrapper) napi_reference_unref(env, wrapper, nullptr);
      refed = false;
    }
    if (closing && !tornDown) {
      Teardown(false);
      for (napi_deferred d : closeWaiters) {
        napi_value undef;
        if (napi_get_undefined(env, &undef) != napi_ok || napi_resolve_deferred(env, d, undef) != napi_ok) break;
      }
      closeWaiters.clear();
    }
  }
}

void Core::FreeList(ddbs_request* list) {
  while (list) {
    ddbs_request* r = list;
    list = r->next;
    delete static_cast<Pending*>(r->user);
    ddbs_request_free(r);
  }
}

// Stops the thread (abort: fail what is in flight), settles nothing further, releases the function.
void Core::Teardown(bool abort) {
  if (tornDown) return;
  tornDown = true;
  if (hookAdded) {
    napi_remove_env_cleanup_hook(env, CleanupHook, this);
    hookAdded = false;
  }
  if (client) {
    ddbs_client_shutdown(client, abort ? 1 : 0);
    // Requests that completed while shutting down: on abort (env going away, or the JS object
    // collected) nobody can await them any more, so just free them.
    FreeList(ddbs_client_take_completed(client));
    ddbs_client_free(client);
    client = nullptr;
  }
  if (tsfn) {
    napi_threadsafe_function t = tsfn;
    napi_release_threadsafe_function(t, napi_tsfn_abort);  // Finalize deletes this Core later
  }
}

// ------------------------------------------------------------------ the JS class
//
// NativeStore is defined with raw napi callbacks, not node-addon-api's ObjectWrap: its methods can
// be called while the environment is being torn down (a continuation that runs after
// worker.terminate()), when napi_unwrap and every call that runs JavaScript fail; node-addon-api
// built without C++ exceptions turns such a failure into napi_fatal_error, which aborts the whole
// process. Here a failed call makes the method return undefined.

struct NativeStore {
  Core* core = nullptr;
  ~NativeStore() {
    if (core) {
      core->ownerSlot = nullptr;
      core->Teardown(true);  // the Core itself goes with its thread-safe function
      core = nullptr;
    }
  }
};

// The call's receiver and arguments; nullptr when the environment cannot run JavaScript.
NativeStore* Receiver(napi_env env, napi_callback_info info, size_t* argc, napi_value* argv) {
  napi_value self;
  void* p = nullptr;
  if (napi_get_cb_info(env, info, argc, argv, &self, nullptr) != napi_ok) return nullptr;
  if (napi_unwrap(env, self, &p) != napi_ok) return nullptr;
  return static_cast<NativeStore*>(p);
}

napi_valuetype TypeOf(napi_env env, napi_value v) {
  napi_valuetype t = napi_undefined;
  if (!v || napi_typeof(env, v, &t) != napi_ok) return napi_undefined;
  return t;
}

// Reads a JS string into malloc'd UTF-8 (NUL-terminated). Returns false when not a string.
bool CopyString(napi_env env, napi_value v, char** out, size_t* len) {
  size_t n = 0;
  if (TypeOf(env, v) != napi_string || napi_get_value_string_utf8(env, v, nullptr, 0, &n) != napi_ok) return false;
  char* p = static_cast<char*>(malloc(n + 1));
  if (!p) return false;
  napi_get_value_string_utf8(env, v, p, n + 1, &n);
  *out = p;
  *len = n;
  return true;
}

// A string property (false when it is absent or not a string: then out is "").
bool GetStringProp(napi_env env, napi_value o, const char* name, std::string* out) {
  napi_value v;
  char* p = nullptr;
  size_t n = 0;
  out->clear();
  if (napi_get_named_property(env, o, name, &v) != napi_ok || !CopyString(env, v, &p, &n)) return false;
  out->assign(p, n);
  free(p);
  return true;
}

// A whole number option, clamped to [lo, hi] before any cast (lib/config.js refuses out-of-range
// values first; a double beyond long's range cast to long is undefined behaviour).
long long GetIntProp(napi_env env, napi_value o, const char* name, long long dflt, long long lo, long long hi) {
  napi_value v;
  double d;
  if (napi_get_named_property(env, o, name, &v) != napi_ok || TypeOf(env, v) != napi_number ||
      napi_get_value_double(env, v, &d) != napi_ok || d != d)
    return dflt;
  if (d <= (double)lo) return lo;
  if (d >= (double)hi) return hi;
  return (long long)d;
}

bool GetBoolProp(napi_env env, napi_value o, const char* name) {
  napi_value v;
  bool b = false;
  if (napi_get_named_property(env, o, name, &v) != napi_ok || TypeOf(env, v) != napi_boolean) return false;
  napi_get_value_bool(env, v, &b);
  return b;
}

void FinalizeStore(napi_env, void* data, void*) { delete static_cast<NativeStore*>(data); }

// new NativeStore(config)
napi_value StoreNew(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {nullptr}, self;
  if (napi_get_cb_info(env, info, &argc, argv, &self, nullptr) != napi_ok) return nullptr;
  if (argc < 1 || TypeOf(env, argv[0]) != napi_object) {
    ThrowType(env, "NativeStore(config): config must be an object");
    return nullptr;
  }
  napi_value cfg = argv[0];
  std::string url, host, region, table, hashKey, ttlKey, caFile, userAgent, proxy, noProxy, userKey, createdKey;
  struct {
    const char* name;
    std::string* out;
  } strs[] = {{"url", &url},         {"host", &host},           {"region", &region},   {"table", &table},
              {"hashKey", &hashKey}, {"ttlKey", &ttlKey},       {"caFile", &caFile},   {"userAgent", &userAgent},
              {"proxy", &proxy},     {"noProxy", &noProxy},     {"userKey", &userKey}, {"createdKey", &createdKey}};
  std::string versionKey;
  GetStringProp(env, cfg, "versionKey", &versionKey);
  if (strlen(versionKey.c_str()) != versionKey.size()) {
    ThrowType(env, "NativeStore(config): a setting holds a NUL character");
    return nullptr;
  }
  for (auto& e : strs) {
    GetStringProp(env, cfg, e.name, e.out);
    if (strlen(e.out->c_str()) != e.out->size()) {  // C would cut it at the NUL
      ThrowType(env, "NativeStore(config): a setting holds a NUL character");
      return nullptr;
    }
  }
  ddbs_client_config c{};
  c.url = url.c_str();
  c.host = host.c_str();
  c.region = region.c_str();
  c.table = table.c_str();
  c.hash_key = hashKey.c_str();
  c.ttl_key = ttlKey.c_str();
  c.version_key = versionKey.empty() ? nullptr : versionKey.c_str();
  c.user_key = userKey.empty() ? nullptr : userKey.c_str();
  c.created_key = createdKey.empty() ? nullptr : createdKey.c_str();
  c.report_capacity = GetBoolProp(env, cfg, "reportCapacity") ? 1 : 0;
  // compress: { threshold, level } | undefined
  napi_value v;
  if (napi_get_named_property(env, cfg, "compress", &v) == napi_ok && TypeOf(env, v) == napi_object) {
    c.compress = 1;
    c.compress_threshold = (size_t)GetIntProp(env, v, "threshold", 1024, 0, 1LL << 30);
    c.compress_level = (int)GetIntProp(env, v, "level", 1, 1, 19);
  }
  // encrypt: { ids: string[], keys: Buffer[] (32 bytes each), current } | undefined: copied here,
  // wiped when this function returns (the client keeps its own copy, wiped on free)
  KeyCopy keys;
  if (napi_get_named_property(env, cfg, "encrypt", &v) == napi_ok && TypeOf(env, v) == napi_object) {
    napi_value ids, bufs;
    uint32_t n = 0, nk = 0;
    bool ok = napi_get_named_property(env, v, "ids", &ids) == napi_ok && napi_get_array_length(env, ids, &n) == napi_ok &&
              napi_get_named_property(env, v, "keys", &bufs) == napi_ok && napi_get_array_length(env, bufs, &nk) == napi_ok &&
              n > 0 && n == nk && n <= KeyCopy::kMax;
    for (uint32_t i = 0; ok && i < n; i++) {
      napi_value id, key;
      void* data = nullptr;
      size_t len = 0, sl = 0;
      bool isBuf = false;
      ok = napi_get_element(env, ids, i, &id) == napi_ok && TypeOf(env, id) == napi_string &&
           napi_get_value_string_utf8(env, id, keys.ids[i], sizeof keys.ids[i], &sl) == napi_ok && sl > 0 &&
           sl <= DDBS_BLOB_KEY_ID_MAX && strlen(keys.ids[i]) == sl &&
           napi_get_element(env, bufs, i, &key) == napi_ok && napi_is_buffer(env, key, &isBuf) == napi_ok && isBuf &&
           napi_get_buffer_info(env, key, &data, &len) == napi_ok && len == DDBS_BLOB_KEY_LEN;
      if (ok) {
        memcpy(keys.bytes + i * DDBS_BLOB_KEY_LEN, data, DDBS_BLOB_KEY_LEN);
        keys.ptrs[i] = keys.ids[i];
      }
    }
    if (!ok) {
      ThrowType(env, "NativeStore(config): encrypt must be { ids, keys: 32-byte Buffers, current }");
      return nullptr;
    }
    c.key_ids = keys.ptrs;
    c.keys = keys.bytes;
    c.nkeys = n;
    c.current_key = (size_t)GetIntProp(env, v, "current", 0, 0, (long long)n - 1);
  }
  c.consistent_read = GetBoolProp(env, cfg, "consistentRead") ? 1 : 0;
  constexpr long long kMaxMs = 2147483647LL;  // lib/config.js LIMITS
  c.max_attempts = (int)GetIntProp(env, cfg, "maxAttempts", 3, 1, 100);
  c.connect_timeout_ms = (long)GetIntProp(env, cfg, "connectTimeout", 1000, 1, kMaxMs);
  c.attempt_timeout_ms = (long)GetIntProp(env, cfg, "requestTimeout", 3000, 1, kMaxMs);
  c.total_timeout_ms = (long)GetIntProp(env, cfg, "operationTimeout", 10000, 1, kMaxMs);
  c.ca_file = caFile.empty() ? nullptr : caFile.c_str();
  c.user_agent = userAgent.empty() ? nullptr : userAgent.c_str();
  c.proxy = proxy.empty() ? nullptr : proxy.c_str();
  c.no_proxy = noProxy.empty() ? nullptr : noProxy.c_str();
  c.max_response_bytes = (size_t)GetIntProp(env, cfg, "maxResponseBytes", 16 * 1024 * 1024, 1024, 1LL << 32);
  c.max_connections = (int)GetIntProp(env, cfg, "maxConnections", 256, 1, 65536);

  NativeStore* ns = new NativeStore();
  if (napi_wrap(env, self, ns, FinalizeStore, nullptr, nullptr) != napi_ok) {
    delete ns;
    return nullptr;
  }
  Core* core = new Core();
  core->env = env;
  core->table = table;
  napi_get_uv_event_loop(env, &core->loop);
  napi_value name = Str(env, "koa-session-dynamodb-store");
  if (!name || napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, core, Core::Finalize, core,
                                               Core::CallJs, &core->tsfn) != napi_ok) {
    delete core;
    napi_throw_error(env, nullptr, "cannot create the store's thread-safe function");
    return nullptr;
  }
  napi_unref_threadsafe_function(env, core->tsfn);  // idle: never keeps the process alive
  char err[256] = "";
  core->client = ddbs_client_new(&c, Core::Notify, core, err, sizeof err);
  if (!core->client) {
    core->Teardown(true);
    napi_throw_error(env, nullptr, (std::string("cannot start the store: ") + err).c_str());
    return nullptr;
  }
  // Registered after the thread-safe function, so it runs before Node closes that function.
  if (napi_add_env_cleanup_hook(env, Core::CleanupHook, core) == napi_ok) core->hookAdded = true;
  napi_create_reference(env, self, 0, &core->wrapper);
  ns->core = core;
  core->ownerSlot = &ns->core;
  return self;
}

// A promise already rejected with a DynamoDBStoreError (code, message); nullptr when the
// environment cannot run JavaScript.
napi_value Rejected(napi_env env, const char* code, const char* message) {
  napi_deferred d;
  napi_value promise;
  if (napi_create_promise(env, &d, &promise) != napi_ok) return nullptr;
  napi_value err = MakeError(env, code, message, nullptr);
  if (!err) napi_get_undefined(env, &err);
  napi_reject_deferred(env, d, err);
  return promise;
}

napi_value Submit(napi_env env, NativeStore* ns, ddbs_request* r) {
  Core* core = ns->core;
  if (!core || core->closing || core->tornDown) {
    ddbs_request_free(r);
    return Rejected(env, "StoreClosed", "the store is closed");
  }
  napi_deferred deferred;
  napi_value promise;
  if (napi_create_promise(env, &deferred, &promise) != napi_ok) {
    ddbs_request_free(r);
    return nullptr;  // JavaScript cannot run (environment teardown), or out of memory
  }
  Pending* p = new Pending{deferred};
  r->user = p;
  if (ddbs_client_submit(core->client, r) != 0) {
    r->user = nullptr;
    ddbs_request_free(r);
    delete p;
    napi_value err = MakeError(env, "StoreClosed", "the store is closed", nullptr);
    if (!err) napi_get_undefined(env, &err);
    napi_reject_deferred(env, deferred, err);
    return promise;
  }
  if (core->inflight++ == 0 && !core->refed) {
    napi_ref_threadsafe_function(env, core->tsfn);
    if (core->wrapper) napi_reference_ref(env, core->wrapper, nullptr);  // not collected mid-flight
    core->refed = true;
  }
  return promise;
}

// get(key: string) -> Promise<string | undefined>  (the session's JSON text)
// delete(key: string) -> Promise<void>
napi_value KeyOp(napi_env env, napi_callback_info info, int op, const char* name, const char* usage) {
  size_t argc = 1;
  napi_value argv[1] = {nullptr};
  NativeStore* ns = Receiver(env, info, &argc, argv);
  if (!ns) return nullptr;
  ddbs_request* r = ddbs_request_new(op, name);
  if (!r || argc < 1 || !CopyString(env, argv[0], &r->key, &r->key_len)) {
    ddbs_request_free(r);
    return Rejected(env, "InvalidKey", usage);
  }
  return Submit(env, ns, r);
}

napi_value StoreGet(napi_env env, napi_callback_info info) {
  return KeyOp(env, info, DDBS_OP_GET_ITEM, "GetItem", "get(key): key must be a string");
}

napi_value StoreDelete(napi_env env, napi_callback_info info) {
  return KeyOp(env, info, DDBS_OP_DELETE_ITEM, "DeleteItem", "delete(key): key must be a string");
}

// An integer argument (a JS number), or dflt when absent; false when it is something else.
bool IntArg(napi_env env, napi_value v, int64_t dflt, int64_t* out) {
  napi_valuetype t = TypeOf(env, v);
  if (t == napi_undefined) {
    *out = dflt;
    return true;
  }
  return t == napi_number && napi_get_value_int64(env, v, out) == napi_ok;
}

bool BoolArg(napi_env env, napi_value v) {
  bool b = false;
  if (TypeOf(env, v) == napi_boolean) napi_get_value_bool(env, v, &b);
  return b;
}

// The write conditions shared by put and update: (versioned), requireExists, expectVersion.
bool CondArgs(napi_env env, napi_value require_exists, napi_value expect_version, ddbs_request* r) {
  int64_t ev = -2;
  if (!IntArg(env, expect_version, -2, &ev) || ev < -2) return false;
  r->require_exists = BoolArg(env, require_exists) ? 1 : 0;
  r->expect_version = ev;
  return true;
}

// The attributes a write keeps: user (undefined: leave alone; null: remove; a string: set) and
// createdAt (epoch seconds written once; undefined or -1: none).
bool AttrArgs(napi_env env, napi_value user, napi_value created, ddbs_request* r) {
  napi_valuetype t = TypeOf(env, user);
  if (t == napi_null) {
    r->user_mode = 2;
  } else if (t == napi_string) {
    if (!CopyString(env, user, &r->user_id, &r->user_id_len)) return false;
    r->user_mode = 1;
  } else if (t != napi_undefined) {
    return false;
  }
  int64_t c = -1;
  if (!IntArg(env, created, -1, &c) || c < -1) return false;
  r->created_at = c;
  return true;
}

// put(key, sessionJson, expiresEpochSeconds, newVersion?, requireExists?, expectVersion?, user?, createdAt?) -> Promise<string>
//   newVersion: the version attribute written (absent: none); requireExists: the item must exist;
//   expectVersion: -2 no version condition, -1 the item must have none, >= 0 it must equal it.
//   Written as an UpdateItem (SET of the whole session), so attributes it does not own stay.
napi_value StorePut(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8] = {nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
  NativeStore* ns = Receiver(env, info, &argc, argv);
  if (!ns) return nullptr;
  ddbs_request* r = ddbs_request_new(DDBS_OP_PUT_ITEM, "PutItem");
  int64_t expires = 0, version = 0;
  if (!r || argc < 3 || !CopyString(env, argv[0], &r->key, &r->key_len) ||
      !CopyString(env, argv[1], &r->session, &r->session_len) || TypeOf(env, argv[2]) != napi_number ||
      napi_get_value_int64(env, argv[2], &expires) != napi_ok || !IntArg(env, argv[3], 0, &version) || version < 0 ||
      !CondArgs(env, argv[4], argv[5], r) || !AttrArgs(env, argv[6], argv[7], r)) {
    ddbs_request_free(r);
    return Rejected(env, "InvalidArgument", "put(key, json, expires, version?, requireExists?, expectVersion?, user?, createdAt?): bad arguments");
  }
  r->expires = expires;
  r->versioned = version > 0;
  r->new_version = version;
  return Submit(env, ns, r);
}

// update(key, setJson | null, removeJson | null, expiresEpochSeconds, versioned, requireExists,
//        expectVersion) -> Promise<void>: UpdateItem of the session's top-level fields (setJson: a
//        JSON object of the fields to set; removeJson: a JSON array of the names to remove), the
//        expiry, and (versioned) the version + 1; conditions as put's.
napi_value StoreUpdate(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9] = {nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
  NativeStore* ns = Receiver(env, info, &argc, argv);
  if (!ns) return nullptr;
  ddbs_request* r = ddbs_request_new(DDBS_OP_UPDATE_ITEM, "UpdateItem");
  int64_t expires = 0;
  bool ok = r && argc >= 7 && CopyString(env, argv[0], &r->key, &r->key_len);
  if (ok && TypeOf(env, argv[1]) != napi_null) ok = CopyString(env, argv[1], &r->set_json, &r->set_len);
  if (ok && TypeOf(env, argv[2]) != napi_null) ok = CopyString(env, argv[2], &r->remove_json, &r->remove_len);
  ok = ok && TypeOf(env, argv[3]) == napi_number && napi_get_value_int64(env, argv[3], &expires) == napi_ok &&
       CondArgs(env, argv[5], argv[6], r) && AttrArgs(env, argv[7], argv[8], r);
  if (!ok) {
    ddbs_request_free(r);
    return Rejected(env, "InvalidArgument", "update(key, set, remove, expires, versioned, requireExists, expectVersion, user?, createdAt?): bad arguments");
  }
  r->expires = expires;
  r->versioned = BoolArg(env, argv[4]) ? 1 : 0;
  return Submit(env, ns, r);
}

// call(operation, body) -> Promise<string>: any DynamoDB operation, signed and sent by the core
// (retries, timeouts, credentials as for the session operations). operation is the part after
// "DynamoDB_20120810." (letters only); body is the request's JSON text. Resolves the answer's JSON.
napi_value StoreCall(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {nullptr, nullptr};
  NativeStore* ns = Receiver(env, info, &argc, argv);
  if (!ns) return nullptr;
  char *op = nullptr, *body = nullptr;
  size_t opn = 0, len = 0;
  ddbs_request* r = nullptr;
  napi_value result = nullptr;
  bool ok = argc >= 2 && CopyString(env, argv[0], &op, &opn) && CopyString(env, argv[1], &body, &len);
  ok = ok && opn > 0 && opn < sizeof(((ddbs_request*)nullptr)->op_name);
  for (size_t i = 0; ok && i < opn; i++) ok = (op[i] >= 'A' && op[i] <= 'Z') || (op[i] >= 'a' && op[i] <= 'z');
  if (!ok) {
    result = Rejected(env, "InvalidArgument", "call(operation, body): a DynamoDB operation name and a JSON body expected");
  } else if (!(r = ddbs_request_new(DDBS_OP_RAW, op))) {
    result = Rejected(env, "OutOfMemory", "out of memory");
  } else {
    r->body.data = body;  // moved: the request frees it
    r->body.len = len;
    r->body.cap = len + 1;
    body = nullptr;
    result = Submit(env, ns, r);
  }
  free(op);
  free(body);
  return result;
}

// setCredentials(accessKeyId, secretAccessKey, sessionToken?)
napi_value StoreSetCredentials(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3] = {nullptr, nullptr, nullptr};
  NativeStore* ns = Receiver(env, info, &argc, argv);
  if (!ns || !ns->core || !ns->core->client) return nullptr;
  char *ak = nullptr, *sk = nullptr, *tok = nullptr;
  size_t akn = 0, skn = 0, tokn = 0;
  bool ok = argc >= 2 && CopyString(env, argv[0], &ak, &akn) && CopyString(env, argv[1], &sk, &skn);
  if (ok && argc >= 3 && TypeOf(env, argv[2]) == napi_string) ok = CopyString(env, argv[2], &tok, &tokn);
  // a value with an embedded NUL would be cut short in C: refused, as control characters are
  if (ok) ok = strlen(ak) == akn && strlen(sk) == skn && (!tok || strlen(tok) == tokn);
  if (ok) ok = ddbs_client_set_credentials(ns->core->client, ak, sk, tok) == 0;
  if (sk) ddbs_secure_zero(sk, skn);
  if (tok) ddbs_secure_zero(tok, tokn);
  free(ak);
  free(sk);
  free(tok);
  if (!ok) ThrowType(env, "setCredentials(accessKeyId, secretAccessKey, sessionToken?): strings without control characters expected");
  return nullptr;
}

// close() -> Promise<void>: waits for what is in flight, then stops the thread. Idempotent.
napi_value StoreClose(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  NativeStore* ns = Receiver(env, info, &argc, nullptr);
  if (!ns) return nullptr;
  Core* core = ns->core;
  if (core && !core->tornDown) {
    core->closing = true;
    if (core->inflight == 0) core->Teardown(false);
  }
  napi_deferred d;
  napi_value promise, undef;
  if (napi_create_promise(env, &d, &promise) != napi_ok) return nullptr;
  core = ns->core;  // Teardown may have released it (its finalizer clears ns->core later, not now)
  if (!core || core->tornDown) {
    napi_get_undefined(env, &undef);
    napi_resolve_deferred(env, d, undef);
  } else {
    core->closeWaiters.push_back(d);  // Drain() resolves it when the last request settles
  }
  return promise;
}

napi_value StoreInflight(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  NativeStore* ns = Receiver(env, info, &argc, nullptr);
  napi_value v = nullptr;
  if (ns) napi_create_double(env, ns->core ? (double)ns->core->inflight : 0, &v);
  return v;
}

napi_value DefineStore(napi_env env) {
  napi_property_descriptor methods[] = {
      {"get", nullptr, StoreGet, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"put", nullptr, StorePut, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"update", nullptr, StoreUpdate, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"delete", nullptr, StoreDelete, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"call", nullptr, StoreCall, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setCredentials", nullptr, StoreSetCredentials, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"close", nullptr, StoreClose, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"inflight", nullptr, StoreInflight, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_value cls = nullptr;
  napi_define_class(env, "NativeStore", NAPI_AUTO_LENGTH, StoreNew, nullptr, sizeof methods / sizeof methods[0],
                    methods, &cls);
  return cls;
}

// ------------------------------------------------------------------ module

Napi::Value Setup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData* data = GetData(env);
  if (info.Length() >= 1 && info[0].IsObject()) {
    Napi::Value ec = info[0].As<Napi::Object>().Get("errorClass");
    if (ec.IsFunction()) data->errorClass = Napi::Persistent(ec.As<Napi::Function>());
  }
  return env.Undefined();
}

Napi::Value Versions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("curl", ddbs_curl_version());
  o.Set("curlSsl", ddbs_curl_ssl_version());
  o.Set("curlThreadsafe", Napi::Boolean::New(env, ddbs_curl_threadsafe() != 0));
  return o;
}

// sign({ accessKeyId, secretAccessKey, sessionToken?, region, amzDate, host, target, body }) -> the
// Authorization header value the store would send. For cross-checking the signer from JavaScript.
Napi::Value Sign(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "sign(request): request must be an object").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  napi_value o = info[0];
  std::string ak, sk, tok, region, date, host, target, body;
  GetStringProp(env, o, "accessKeyId", &ak);
  GetStringProp(env, o, "secretAccessKey", &sk);
  GetStringProp(env, o, "sessionToken", &tok);
  GetStringProp(env, o, "region", &region);
  GetStringProp(env, o, "amzDate", &date);
  GetStringProp(env, o, "host", &host);
  GetStringProp(env, o, "target", &target);
  GetStringProp(env, o, "body", &body);
  ddbs_buf auth = DDBS_BUF_INIT;
  Napi::Value result = env.Undefined();
  if (ddbs_core_sign(ak.c_str(), sk.c_str(), tok.c_str(), region.c_str(), date.c_str(), host.c_str(), target.c_str(),
                     body.data(), body.size(), &auth) == 0) {
    result = Napi::String::New(env, auth.data, auth.len);
  } else {
    Napi::Error::New(env, "sign: cannot sign this request").ThrowAsJavaScriptException();
  }
  if (!sk.empty()) ddbs_secure_zero(&sk[0], sk.size());
  ddbs_buf_free(&auth);
  return result;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  AddonData* data = new AddonData();
  env.SetInstanceData<AddonData>(data);
  char err[256] = "";
  if (ddbs_core_global_init(err, sizeof err) != 0) {
    Napi::Error::New(env, err).ThrowAsJavaScriptException();
    return exports;
  }
  data->coreInitialized = true;
  napi_value cls = DefineStore(env);
  if (!cls) return exports;
  exports.Set("NativeStore", Napi::Value(env, cls));
  exports.Set("setup", Napi::Function::New(env, Setup, "setup"));
  exports.Set("versions", Napi::Function::New(env, Versions, "versions"));
  exports.Set("sign", Napi::Function::New(env, Sign, "sign"));
  return exports;
}

}  // namespace

NODE_API_MODULE(ddbstore, Init)
