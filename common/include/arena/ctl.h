/* ctl.h - the ZeroMQ control plane. A service binds a REP socket and answers JSON commands
 * ({"cmd":"status"} -> {"ok":true,...}); arenactl sends them with arena_ctl_request().
 * Built-in commands: "status" (service, state, uptime, plus the service's own fields), "pause",
 * "resume", "ping". Services register more. Handlers run in the caller of arena_ctl_poll()
 * (the service's loop thread). Not thread-safe.
 *
 * Optional CURVE security (ZeroMQ's CurveZMQ: encryption plus client authentication): the server
 * holds a secret key and a list of authorised client public keys, checked by a ZAP handler that
 * arena_ctl_poll() answers on the same thread as the requests; a client holds its own secret key
 * and the server's public key. Keys are Z85 text (40 characters) read from files only; secret
 * keys are registered with arena_log_add_secret() as they are read. */
#ifndef ARENA_CTL_H
#define ARENA_CTL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "arena/err.h"

struct arena_ctl;

#define ARENA_CTL_Z85_LEN 40 /* a CURVE key as Z85 text */

/* Loaded CURVE keys of one side (caller-owned: _init fills it, _fini clears it). */
struct arena_ctl_curve {
    bool enabled;
    char secret_key[ARENA_CTL_Z85_LEN + 1];    /* own secret key */
    char public_key[ARENA_CTL_Z85_LEN + 1];    /* own public key, derived from secret_key */
    char server_public[ARENA_CTL_Z85_LEN + 1]; /* client: the server's public key */
    unsigned char (*authorized)[32];           /* server: authorised client public keys */
    size_t n_authorized;
};

/* true when this libzmq supports CURVE (zmq_has("curve")). */
bool arena_ctl_curve_available(void);
/* Server side: secret key file (one Z85 key) and authorised client keys file (one Z85 public key
 * a line; blank lines and '#' comments ignored; at least one key). Errors name the file and the
 * line, never a key: missing/unreadable file, bad length or alphabet, no CURVE in libzmq. */
arena_err_t arena_ctl_curve_server_init(struct arena_ctl_curve *cv, const char *secret_key_file,
                                        const char *authorized_keys_file, char *errstr,
                                        size_t errstr_size);
/* Client side: own secret key file and the server's public key file (one Z85 key each). */
arena_err_t arena_ctl_curve_client_init(struct arena_ctl_curve *cv, const char *secret_key_file,
                                        const char *server_public_key_file, char *errstr,
                                        size_t errstr_size);
void arena_ctl_curve_fini(struct arena_ctl_curve *cv);
/* Read a file of Z85 keys (see arena_ctl_curve_server_init); *keys is malloc'd, caller frees. */
arena_err_t arena_ctl_curve_read_keys(const char *path, char (**keys)[ARENA_CTL_Z85_LEN + 1],
                                      size_t *n, char *errstr, size_t errstr_size);

/* args: the whole request object (borrowed). Return a new reply object (ownership passes);
 * NULL = {"ok":false,"error":"..."} with a generic message. */
typedef json_t *(arena_ctl_handler)(void *ctx, const char *cmd, json_t *args);

struct arena_ctl *arena_ctl_new(const char *endpoint, char *errstr, size_t errstr_size);
/* Same with CURVE when cv is non-NULL and enabled (server keys; copied). */
struct arena_ctl *arena_ctl_new_curve(const char *endpoint, const struct arena_ctl_curve *cv,
                                      char *errstr, size_t errstr_size);
void arena_ctl_register(struct arena_ctl *c, const char *cmd, arena_ctl_handler *fn, void *ctx);
/* Answer pending requests without blocking (timeout_ms = 0) or waiting up to timeout_ms. */
int arena_ctl_poll(struct arena_ctl *c, int timeout_ms);
/* The bound endpoint (resolves "tcp://127.0.0.1:*" to the real port). */
const char *arena_ctl_endpoint(const struct arena_ctl *c);
void arena_ctl_destroy(struct arena_ctl *c);

/* Process-wide client security for every arena_ctl_request() that follows: client keys
 * (copied), or NULL / not enabled = plaintext. Set once at start-up, before requests run on
 * other threads. A refused CURVE handshake fails the request at once with ARENA_ERR_ZMQ and a
 * message saying why; an unanswered one still ends with ARENA_ERR_TIMEOUT after timeout_ms. */
void arena_ctl_client_curve(const struct arena_ctl_curve *cv);

/* Client: send {"cmd":cmd, ...args} and wait for the reply. *reply is a new reference. */
arena_err_t arena_ctl_request(const char *endpoint, const char *cmd, json_t *args, int timeout_ms,
                              json_t **reply, char *errstr, size_t errstr_size);

#endif
