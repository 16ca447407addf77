/* ddb_control.h: bodies of DynamoDB's control-plane requests the store uses (CreateTable,
 * DescribeTable, UpdateTable, DescribeTimeToLive, UpdateTimeToLive). Pure; any thread.
 * Each returns 0, or -1 (invalid UTF-8 in a name, or out of memory). Appends compact JSON to out. */
#ifndef DDBS_DDB_CONTROL_H
#define DDBS_DDB_CONTROL_H

#include "buf.h"

/* {"TableName":t} for DescribeTable and DescribeTimeToLive */
int ddbs_body_table_name(const char *table, ddbs_buf *out);
/* pay_per_request = 1: BillingMode PAY_PER_REQUEST (rcu/wcu ignored); else PROVISIONED with rcu/wcu */
int ddbs_body_create_table(const char *table, const char *hash_key, int pay_per_request, long long rcu,
                           long long wcu, ddbs_buf *out);
int ddbs_body_update_table(const char *table, long long rcu, long long wcu, ddbs_buf *out);
int ddbs_body_update_ttl(const char *table, const char *attribute, int enabled, ddbs_buf *out);

#endif
