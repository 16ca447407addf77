/* errors.h: the store's one vocabulary of local error codes (failures that did not come from
 * DynamoDB's own error answers, whose codes such as ResourceNotFoundException are passed through
 * as the service names them). Defined once here; lib/errors.js (LOCAL_ERROR_CODES) and index.d.ts
 * (LocalErrorCode) mirror the names, and test/errors.test.js checks that the three agree.
 * Pure; any thread. */
#ifndef DDBS_ERRORS_H
#define DDBS_ERRORS_H

/* X(enum suffix, name as JavaScript sees it in err.code) */
#define DDBS_LOCAL_ERRORS(X)                                                                          \
  X(NETWORKING, "NetworkingError")         /* DNS, TCP, TLS, a connection cut: retryable */          \
  X(TIMEOUT, "TimeoutError")               /* an attempt or the whole operation ran out of time */   \
  X(INVALID_RESPONSE, "InvalidResponse")   /* an answer that is not what DynamoDB sends */            \
  X(RESPONSE_TOO_LARGE, "ResponseTooLarge") /* an answer over the size cap */                        \
  X(CRC32_MISMATCH, "CRC32CheckFailed")    /* an answer whose x-amz-crc32 does not match its body */ \
  X(SESSION_TOO_LARGE, "SessionTooLarge")  /* the item would be over DynamoDB's 400 KB */             \
  X(INVALID_SESSION, "InvalidSession")     /* the session cannot be stored */                         \
  X(INVALID_ARGUMENT, "InvalidArgument")   /* a call with arguments of the wrong kind */              \
  X(INVALID_KEY, "InvalidKey")             /* a session key that is not a string */                   \
  X(OUT_OF_MEMORY, "OutOfMemory")                                                                     \
  X(SIGNING, "SigningError")               /* the request could not be signed */                      \
  X(CREDENTIALS, "CredentialsError")       /* no credentials, or credentials that cannot be used */   \
  X(STORE_CLOSED, "StoreClosed")           /* the store was closed before the request completed */    \
  X(UNKNOWN, "UnknownError")               /* an error answer without a readable error code */        \
  X(SERVER, "InternalServerError")         /* a 5xx answer without a readable error code */       \
  X(SESSION_CONFLICT, "SessionConflict")   /* strict: another request wrote the session first */    \
  X(UPDATE_TOO_LARGE, "UpdateTooLarge")    /* more changed fields than one update can carry */

typedef enum ddbs_error {
  DDBS_ERR_NONE = 0,
#define DDBS_ERR_ENUM(id, name) DDBS_ERR_##id,
  DDBS_LOCAL_ERRORS(DDBS_ERR_ENUM)
#undef DDBS_ERR_ENUM
  DDBS_ERR_COUNT
} ddbs_error;

/* The code's name ("NetworkingError"); "" for DDBS_ERR_NONE or an unknown value. */
const char *ddbs_error_name(ddbs_error e);

#endif
