/*
 * A stand-in for Cyrus SASL in fully static builds (EDGELINK_STATIC).
 *
 * Debian's libsasl2.a drags in LDAP, Kerberos, MySQL and more and does not link statically.
 * librdkafka uses Cyrus SASL only for GSSAPI (Kerberos); PLAIN, SCRAM-SHA-256/512 and
 * OAUTHBEARER are implemented inside librdkafka and keep working. These are the nine functions
 * librdkafka.a calls: initialisation succeeds (so the library starts normally) and any attempt
 * to open a GSSAPI session fails with a clear message.
 */
#include <stddef.h>

typedef struct sasl_conn sasl_conn_t;
typedef struct sasl_callback sasl_callback_t;
typedef struct sasl_interact sasl_interact_t;

#define SASL_OK 0
#define SASL_FAIL (-1)
#define SASL_NOMECH (-4)

static const char kUnavailable[] =
    "GSSAPI (Cyrus SASL) is not available in this static build; use PLAIN, SCRAM or OAUTHBEARER";

int sasl_client_init(const sasl_callback_t* callbacks) {
  (void)callbacks;
  return SASL_OK;
}

int sasl_client_new(const char* service, const char* serverFQDN, const char* iplocalport,
                    const char* ipremoteport, const sasl_callback_t* prompt_supp, unsigned flags,
                    sasl_conn_t** pconn) {
  (void)service;
  (void)serverFQDN;
  (void)iplocalport;
  (void)ipremoteport;
  (void)prompt_supp;
  (void)flags;
  if (pconn != NULL) {
    *pconn = NULL;
  }
  return SASL_NOMECH;
}

int sasl_client_start(sasl_conn_t* conn, const char* mechlist, sasl_interact_t** prompt_need,
                      const char** clientout, unsigned* clientoutlen, const char** mech) {
  (void)conn;
  (void)mechlist;
  (void)prompt_need;
  (void)clientout;
  (void)clientoutlen;
  (void)mech;
  return SASL_NOMECH;
}

int sasl_client_step(sasl_conn_t* conn, const char* serverin, unsigned serverinlen,
                     sasl_interact_t** prompt_need, const char** clientout,
                     unsigned* clientoutlen) {
  (void)conn;
  (void)serverin;
  (void)serverinlen;
  (void)prompt_need;
  (void)clientout;
  (void)clientoutlen;
  return SASL_FAIL;
}

void sasl_dispose(sasl_conn_t** pconn) {
  if (pconn != NULL) {
    *pconn = NULL;
  }
}

const char* sasl_errdetail(sasl_conn_t* conn) {
  (void)conn;
  return kUnavailable;
}

const char* sasl_errstring(int saslerr, const char* langlist, const char** outlang) {
  (void)saslerr;
  (void)langlist;
  if (outlang != NULL) {
    *outlang = "en-us";
  }
  return kUnavailable;
}

int sasl_getprop(sasl_conn_t* conn, int propnum, const void** pvalue) {
  (void)conn;
  (void)propnum;
  if (pvalue != NULL) {
    *pvalue = NULL;
  }
  return SASL_FAIL;
}

int sasl_listmech(sasl_conn_t* conn, const char* user, const char* prefix, const char* sep,
                  const char* suffix, const char** result, unsigned* plen, int* pcount) {
  (void)conn;
  (void)user;
  (void)prefix;
  (void)sep;
  (void)suffix;
  if (result != NULL) {
    *result = "";
  }
  if (plen != NULL) {
    *plen = 0;
  }
  if (pcount != NULL) {
    *pcount = 0;
  }
  return SASL_OK;
}
