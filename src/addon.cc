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

#include <mutex>
#include <string>
#include <vector>

extern "C" {
#include <curl/curl.h>
#include <jansson.h>

#include "client.h"
#include "ddb_control.h"
#include "sigv4.h"
}

namespace {

struct AddonData {
  Napi::FunctionReference errorClass;  // set by setup(); Error when unset
  bool curlInitialized = false;
  ~AddonData() {
    if (curlInitialized) curl_global_cleanup();
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
  void Settle(napi_env env, ddbs_request* r);
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

Napi::Value MakeError(Napi::Env env, ddbs_request* r) {
  std::string message = r->err_message[0] ? r->err_message : r->err_code;
  Napi::Object err;
  AddonData* data = GetData(env);
  if (data && !data->errorClass.IsEmpty()) {
    err = data->errorClass.New({Napi::String::New(env, message)}).As<Napi::Object>();
  } else {
    err = Napi::Error::New(env, message).Value();
  }
  if (env.IsExceptionPending()) {  // the error class threw: fall back to a plain Error
    env.GetAndClearPendingException();
    err = Napi::Error::New(env, message).Value();
  }
  err.Set("code", Napi::String::New(env, r->err_code));
  err.Set("operation", Napi::String::New(env, r->op_name));
  if (r->http_status > 0) err.Set("httpStatusCode", Napi::Number::New(env, (double)r->http_status));
  if (r->request_id[0]) err.Set("requestId", Napi::String::New(env, r->request_id));
  err.Set("attempts", Napi::Number::New(env, r->attempts));
  err.Set("retryable", Napi::Boolean::New(env, r->retryable != 0));
  return err;
}

void Core::Settle(napi_env env, ddbs_request* r) {
  Pending* p = static_cast<Pending*>(r->user);
  Napi::Env e(env);
  if (r->status == DDBS_FAILED) {
    napi_reject_deferred(env, p->deferred, MakeError(e, r));
  } else if (r->status == DDBS_OK && (r->op == DDBS_OP_GET_ITEM || r->op == DDBS_OP_RAW)) {
    napi_value s;
    napi_create_string_utf8(env, r->result.data ? r->result.data : "", r->result.len, &s);
    napi_resolve_deferred(env, p->deferred, s);
  } else {
    napi_resolve_deferred(env, p->deferred, e.Undefined());
  }
  if (e.IsExceptionPending()) e.GetAndClearPendingException();
  delete p;
  ddbs_request_free(r);
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
  while (list) {
    ddbs_request* r = list;
    list = r->next;
    r->next = nullptr;
    Napi::HandleScope scope(Napi::Env{env});
    Settle(env, r);
    inflight--;
  }
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
        napi_get_undefined(env, &undef);
        napi_resolve_deferred(env, d, undef);
      }
      closeWaiters.clear();
    }
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
    ddbs_request* list = ddbs_client_take_completed(client);
    while (list) {
      ddbs_request* r = list;
      list = r->next;
      delete static_cast<Pending*>(r->user);
      ddbs_request_free(r);
    }
    ddbs_client_free(client);
    client = nullptr;
  }
  if (tsfn) {
    napi_threadsafe_function t = tsfn;
    napi_release_threadsafe_function(t, napi_tsfn_abort);  // Finalize deletes this Core later
  }
}

// ------------------------------------------------------------------ the JS class

class NativeStore : public Napi::ObjectWrap<NativeStore> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeStore",
                       {
                           InstanceMethod<&NativeStore::Get>("get"),
                           InstanceMethod<&NativeStore::Put>("put"),
                           InstanceMethod<&NativeStore::Delete>("delete"),
                           InstanceMethod<&NativeStore::Control>("control"),
                           InstanceMethod<&NativeStore::SetCredentials>("setCredentials"),
                           InstanceMethod<&NativeStore::Close>("close"),
                           InstanceMethod<&NativeStore::Inflight>("inflight"),
                       });
  }

  explicit NativeStore(const Napi::CallbackInfo& info);
  ~NativeStore() override {
    if (core_) {
      core_->ownerSlot = nullptr;
      core_->Teardown(true);  // the Core itself goes with its thread-safe function
      core_ = nullptr;
    }
  }

 private:
  Napi::Value Get(const Napi::CallbackInfo& info);
  Napi::Value Put(const Napi::CallbackInfo& info);
  Napi::Value Delete(const Napi::CallbackInfo& info);
  Napi::Value Control(const Napi::CallbackInfo& info);
  Napi::Value SetCredentials(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Inflight(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), core_ ? (double)core_->inflight : 0);
  }

  Napi::Value Submit(Napi::Env env, ddbs_request* r);
  Napi::Value Rejected(Napi::Env env, const char* code, const std::string& message);

  Core* core_ = nullptr;
};

// Reads a JS string into malloc'd UTF-8 (NUL-terminated). Returns false when not a string.
bool CopyString(Napi::Env env, Napi::Value v, char** out, size_t* len) {
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, nullptr, 0, &n) != napi_ok) return false;
  char* p = static_cast<char*>(malloc(n + 1));
  if (!p) return false;
  napi_get_value_string_utf8(env, v, p, n + 1, &n);
  *out = p;
  *len = n;
  return true;
}

std::string GetStringProp(Napi::Object o, const char* name) {
  Napi::Value v = o.Get(name);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

double GetNumberProp(Napi::Object o, const char* name, double dflt) {
  Napi::Value v = o.Get(name);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : dflt;
}

NativeStore::NativeStore(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeStore>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "NativeStore(config): config must be an object").ThrowAsJavaScriptException();
    return;
  }
  Napi::Object cfg = info[0].As<Napi::Object>();
  std::string url = GetStringProp(cfg, "url"), host = GetStringProp(cfg, "host"),
              region = GetStringProp(cfg, "region"), table = GetStringProp(cfg, "table"),
              hashKey = GetStringProp(cfg, "hashKey"), ttlKey = GetStringProp(cfg, "ttlKey"),
              caFile = GetStringProp(cfg, "caFile"), userAgent = GetStringProp(cfg, "userAgent");
  ddbs_client_config c{};
  c.url = url.c_str();
  c.host = host.c_str();
  c.region = region.c_str();
  c.table = table.c_str();
  c.hash_key = hashKey.c_str();
  c.ttl_key = ttlKey.c_str();
  c.consistent_read = cfg.Get("consistentRead").ToBoolean().Value() ? 1 : 0;
  c.max_attempts = (int)GetNumberProp(cfg, "maxAttempts", 3);
  c.connect_timeout_ms = (long)GetNumberProp(cfg, "connectTimeout", 1000);
  c.attempt_timeout_ms = (long)GetNumberProp(cfg, "requestTimeout", 3000);
  c.total_timeout_ms = (long)GetNumberProp(cfg, "operationTimeout", 10000);
  c.ca_file = caFile.empty() ? nullptr : caFile.c_str();
  c.user_agent = userAgent.empty() ? nullptr : userAgent.c_str();
  c.max_response_bytes = (size_t)GetNumberProp(cfg, "maxResponseBytes", 16 * 1024 * 1024);
  c.max_connections = (int)GetNumberProp(cfg, "maxConnections", 256);

  Core* core = new Core();
  core->env = env;
  core->table = table;
  napi_get_uv_event_loop(env, &core->loop);
  napi_value name = Napi::String::New(env, "koa-session-dynamodb-store");
  if (napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, core, Core::Finalize, core,
                                      Core::CallJs, &core->tsfn) != napi_ok) {
    delete core;
    Napi::Error::New(env, "cannot create the store's thread-safe function").ThrowAsJavaScriptException();
    return;
  }
  napi_unref_threadsafe_function(env, core->tsfn);  // idle: never keeps the process alive
  char err[256] = "";
  core->client = ddbs_client_new(&c, Core::Notify, core, err, sizeof err);
  if (!core->client) {
    core->Teardown(true);
    Napi::Error::New(env, std::string("cannot start the store: ") + err).ThrowAsJavaScriptException();
    return;
  }
  // Registered after the thread-safe function, so it runs before Node closes that function.
  if (napi_add_env_cleanup_hook(env, Core::CleanupHook, core) == napi_ok) core->hookAdded = true;
  napi_create_reference(env, info.This(), 0, &core->wrapper);
  core_ = core;
  core->ownerSlot = &core_;
}

Napi::Value NativeStore::Rejected(Napi::Env env, const char* code, const std::string& message) {
  auto d = Napi::Promise::Deferred::New(env);
  Napi::Object err = Napi::Error::New(env, message).Value();
  AddonData* data = GetData(env);
  if (data && !data->errorClass.IsEmpty()) {
    Napi::Value e = data->errorClass.New({Napi::String::New(env, message)});
    if (env.IsExceptionPending()) env.GetAndClearPendingException();
    else err = e.As<Napi::Object>();
  }
  err.Set("code", Napi::String::New(env, code));
  err.Set("retryable", Napi::Boolean::New(env, false));
  d.Reject(err);
  return d.Promise();
}

Napi::Value NativeStore::Submit(Napi::Env env, ddbs_request* r) {
  if (!core_ || core_->closing || core_->tornDown) {
    ddbs_request_free(r);
    return Rejected(env, "StoreClosed", "the store is closed");
  }
  napi_deferred deferred;
  napi_value promise;
  if (napi_create_promise(env, &deferred, &promise) != napi_ok) {
    ddbs_request_free(r);
    return Rejected(env, "OutOfMemory", "cannot create a promise");
  }
  Pending* p = new Pending{deferred};
  r->user = p;
  if (ddbs_client_submit(core_->client, r) != 0) {
    r->user = nullptr;
    ddbs_request_free(r);
    delete p;
    napi_value err = Napi::Error::New(env, "the store is closed").Value();
    napi_reject_deferred(env, deferred, err);
    return Napi::Value(env, promise);
  }
  if (core_->inflight++ == 0 && !core_->refed) {
    napi_ref_threadsafe_function(env, core_->tsfn);
    if (core_->wrapper) napi_reference_ref(env, core_->wrapper, nullptr);  // not collected mid-flight
    core_->refed = true;
  }
  return Napi::Value(env, promise);
}

// get(key: string) -> Promise<string | undefined>  (the session's JSON text)
Napi::Value NativeStore::Get(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ddbs_request* r = ddbs_request_new(DDBS_OP_GET_ITEM, "GetItem");
  if (!r || info.Length() < 1 || !CopyString(env, info[0], &r->key, &r->key_len)) {
    ddbs_request_free(r);
    return Rejected(env, "InvalidKey", "get(key): key must be a string");
  }
  return Submit(env, r);
}

// put(key: string, sessionJson: string, expiresEpochSeconds: number) -> Promise<void>
Napi::Value NativeStore::Put(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ddbs_request* r = ddbs_request_new(DDBS_OP_PUT_ITEM, "PutItem");
  if (!r || info.Length() < 3 || !CopyString(env, info[0], &r->key, &r->key_len) ||
      !CopyString(env, info[1], &r->session, &r->session_len) || !info[2].IsNumber()) {
    ddbs_request_free(r);
    return Rejected(env, "InvalidArgument", "put(key, json, expires): key and json must be strings");
  }
  r->expires = info[2].As<Napi::Number>().Int64Value();
  return Submit(env, r);
}

// delete(key: string) -> Promise<void>
Napi::Value NativeStore::Delete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ddbs_request* r = ddbs_request_new(DDBS_OP_DELETE_ITEM, "DeleteItem");
  if (!r || info.Length() < 1 || !CopyString(env, info[0], &r->key, &r->key_len)) {
    ddbs_request_free(r);
    return Rejected(env, "InvalidKey", "delete(key): key must be a string");
  }
  return Submit(env, r);
}

// control(op, table, ...) -> Promise<string> (the answer's JSON text)
//   control('DescribeTable', table) / control('DescribeTimeToLive', table)
//   control('CreateTable', table, hashKey, payPerRequest, rcu, wcu)
//   control('UpdateTable', table, rcu, wcu)
//   control('UpdateTimeToLive', table, attribute, enabled)
Napi::Value NativeStore::Control(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString())
    return Rejected(env, "InvalidArgument", "control(op, table, ...): op and table must be strings");
  std::string op = info[0].As<Napi::String>().Utf8Value();
  std::string table = info[1].As<Napi::String>().Utf8Value();
  auto str = [&](size_t i) { return i < info.Length() && info[i].IsString() ? info[i].As<Napi::String>().Utf8Value() : std::string(); };
  auto num = [&](size_t i) { return i < info.Length() && info[i].IsNumber() ? info[i].As<Napi::Number>().Int64Value() : 0; };
  auto flag = [&](size_t i) { return i < info.Length() && info[i].ToBoolean().Value(); };
  ddbs_buf body = DDBS_BUF_INIT;
  int rc = -1;
  if (op == "DescribeTable" || op == "DescribeTimeToLive") {
    rc = ddbs_body_table_name(table.c_str(), &body);
  } else if (op == "CreateTable") {
    rc = ddbs_body_create_table(table.c_str(), str(2).c_str(), flag(3) ? 1 : 0, num(4), num(5), &body);
  } else if (op == "UpdateTable") {
    rc = ddbs_body_update_table(table.c_str(), num(2), num(3), &body);
  } else if (op == "UpdateTimeToLive") {
    rc = ddbs_body_update_ttl(table.c_str(), str(2).c_str(), flag(3) ? 1 : 0, &body);
  } else {
    return Rejected(env, "InvalidArgument", "control: unknown operation " + op);
  }
  if (rc != 0) {
    ddbs_buf_free(&body);
    return Rejected(env, "InvalidArgument", op + ": a name is not valid UTF-8");
  }
  ddbs_request* r = ddbs_request_new(DDBS_OP_RAW, op.c_str());
  if (!r) {
    ddbs_buf_free(&body);
    return Rejected(env, "OutOfMemory", "out of memory");
  }
  r->body = body;  // moved
  return Submit(env, r);
}

// setCredentials(accessKeyId, secretAccessKey, sessionToken?)
Napi::Value NativeStore::SetCredentials(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!core_ || !core_->client) return env.Undefined();
  char *ak = nullptr, *sk = nullptr, *tok = nullptr;
  size_t akn = 0, skn = 0, tokn = 0;
  bool ok = info.Length() >= 2 && CopyString(env, info[0], &ak, &akn) && CopyString(env, info[1], &sk, &skn);
  if (ok && info.Length() >= 3 && info[2].IsString()) ok = CopyString(env, info[2], &tok, &tokn);
  if (ok) ddbs_client_set_credentials(core_->client, ak, sk, tok);
  if (sk) ddbs_secure_zero(sk, skn);
  if (tok) ddbs_secure_zero(tok, tokn);
  free(ak);
  free(sk);
  free(tok);
  if (!ok) Napi::TypeError::New(env, "setCredentials(accessKeyId, secretAccessKey, sessionToken?): strings expected").ThrowAsJavaScriptException();
  return env.Undefined();
}

// close() -> Promise<void>: waits for what is in flight, then stops the thread. Idempotent.
Napi::Value NativeStore::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto d = Napi::Promise::Deferred::New(env);
  if (!core_ || core_->tornDown) {
    d.Resolve(env.Undefined());
    return d.Promise();
  }
  core_->closing = true;
  if (core_->inflight == 0) {
    core_->Teardown(false);
    d.Resolve(env.Undefined());
    return d.Promise();
  }
  // Drain() resolves it when the last request settles. Keep the wrapper alive meanwhile.
  napi_deferred raw;
  napi_value promise;
  napi_create_promise(env, &raw, &promise);
  core_->closeWaiters.push_back(raw);
  return Napi::Value(env, promise);
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
  o.Set("jansson", JANSSON_VERSION);
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
  Napi::Object o = info[0].As<Napi::Object>();
  std::string ak = GetStringProp(o, "accessKeyId"), sk = GetStringProp(o, "secretAccessKey"),
              tok = GetStringProp(o, "sessionToken"), region = GetStringProp(o, "region"),
              date = GetStringProp(o, "amzDate"), host = GetStringProp(o, "host"),
              target = GetStringProp(o, "target"), body = GetStringProp(o, "body");
  unsigned char key[32];
  ddbs_buf auth = DDBS_BUF_INIT;
  ddbs_sigv4_dynamodb r{};
  r.access_key_id = ak.c_str();
  r.session_token = tok.empty() ? nullptr : tok.c_str();
  r.region = region.c_str();
  r.amz_date = date.c_str();
  r.host = host.c_str();
  r.target = target.c_str();
  r.body = body.data();
  r.body_len = body.size();
  Napi::Value result = env.Undefined();
  if (date.size() == 16 && ddbs_sigv4_signing_key(sk.c_str(), date.substr(0, 8).c_str(), region.c_str(), "dynamodb", key) == 0 &&
      ddbs_sigv4_sign_dynamodb(&r, key, &auth) == 0) {
    result = Napi::String::New(env, auth.data, auth.len);
  } else {
    Napi::Error::New(env, "sign: cannot sign this request").ThrowAsJavaScriptException();
  }
  ddbs_secure_zero(key, sizeof key);
  ddbs_secure_zero(&sk[0], sk.size());
  ddbs_buf_free(&auth);
  return result;
}

std::once_flag seedOnce;

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  std::call_once(seedOnce, [] { json_object_seed(0); });
  AddonData* data = new AddonData();
  env.SetInstanceData<AddonData>(data);
  if (!ddbs_curl_threadsafe()) {
    Napi::Error::New(env, "this libcurl is not thread-safe (CURL_VERSION_THREADSAFE missing); libcurl 7.84 or newer is needed")
        .ThrowAsJavaScriptException();
    return exports;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    Napi::Error::New(env, "curl_global_init failed").ThrowAsJavaScriptException();
    return exports;
  }
  data->curlInitialized = true;
  exports.Set("NativeStore", NativeStore::Define(env));
  exports.Set("setup", Napi::Function::New(env, Setup, "setup"));
  exports.Set("versions", Napi::Function::New(env, Versions, "versions"));
  exports.Set("sign", Napi::Function::New(env, Sign, "sign"));
  return exports;
}

}  // namespace

NODE_API_MODULE(ddbstore, Init)
