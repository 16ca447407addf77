/* ddb_control.c: control-plane request bodies (see ddb_control.h). Pure, any thread. jansson's
 * _new setters steal the references they are given. */
#include "ddb_control.h"

#include <jansson.h>
#include <stdlib.h>

/* Serializes obj (stolen) into out. */
static int dump_into(json_t *obj, ddbs_buf *out) {
  int rc = -1;
  char *text = NULL;
  if (!obj) goto cleanup;
  text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (!text) goto cleanup;
  rc = ddbs_buf_append_str(out, text);
cleanup:
  free(text);
  json_decref(obj);
  return rc;
}

/* json_pack() validates UTF-8 and frees what it built when anything fails, returning NULL. */
int ddbs_body_table_name(const char *table, ddbs_buf *out) {
  return dump_into(json_pack("{s:s}", "TableName", table), out);
}

int ddbs_body_create_table(const char *table, const char *hash_key, int pay_per_request, long long rcu,
                           long long wcu, ddbs_buf *out) {
  json_t *o;
  if (pay_per_request)
    o = json_pack("{s:s, s:[{s:s, s:s}], s:[{s:s, s:s}], s:s}", "TableName", table, "KeySchema",
                  "AttributeName", hash_key, "KeyType", "HASH", "AttributeDefinitions", "AttributeName",
                  hash_key, "AttributeType", "S", "BillingMode", "PAY_PER_REQUEST");
  else
    o = json_pack("{s:s, s:[{s:s, s:s}], s:[{s:s, s:s}], s:{s:I, s:I}}", "TableName", table, "KeySchema",
                  "AttributeName", hash_key, "KeyType", "HASH", "AttributeDefinitions", "AttributeName",
                  hash_key, "AttributeType", "S", "ProvisionedThroughput", "ReadCapacityUnits",
                  (json_int_t)rcu, "WriteCapacityUnits", (json_int_t)wcu);
  return dump_into(o, out);
}

int ddbs_body_update_table(const char *table, long long rcu, long long wcu, ddbs_buf *out) {
  return dump_into(json_pack("{s:s, s:{s:I, s:I}}", "TableName", table, "ProvisionedThroughput",
                             "ReadCapacityUnits", (json_int_t)rcu, "WriteCapacityUnits", (json_int_t)wcu),
                   out);
}

int ddbs_body_update_ttl(const char *table, const char *attribute, int enabled, ddbs_buf *out) {
  return dump_into(json_pack("{s:s, s:{s:s, s:b}}", "TableName", table, "TimeToLiveSpecification",
                             "AttributeName", attribute, "Enabled", enabled),
                   out);
}
