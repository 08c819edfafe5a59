/* arenactl curve - CURVE keys for the control sockets (see deploy/SECURITY.md).
 *   arenactl curve keygen --out DIR [--name NAME] [--force]
 *       creates DIR (0700) if needed, writes DIR/NAME.key (secret, mode 0600) and DIR/NAME.pub
 * (public, 0644), Z85 text arenactl curve public FILE prints the public key of a secret key file
 * (for an authorized_keys file) Key files hold one 40-character Z85 key and '#' comment lines, so
 * authorised client keys are built with `cat client*.pub > authorized_keys`. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "arena/ctl.h"
#include "arena/util.h"
#include "arenactl.h"
#include "arenactl_curve.h"

static void curve_usage(FILE *out)
{
    fprintf(out, "usage: arenactl curve keygen --out DIR [--name NAME] [--force]\n"
                 "       arenactl curve public SECRET_KEY_FILE\n"
                 "  keygen  write DIR/NAME.key (secret, mode 0600) and DIR/NAME.pub (public)\n"
                 "          NAME defaults to \"arena\"; existing files are kept unless --force\n"
                 "  public  print the public key of a secret key file\n");
}

/* Write text to path with `mode`, refusing to replace a file unless force. 0 or -1 (printed). */
static int write_key_file(const char *path, const char *text, mode_t mode, bool force)
{
    int flags = O_WRONLY | O_CREAT | (force ? O_TRUNC : O_EXCL);
    int fd = open(path, flags, mode);
    if (fd < 0) {
        fprintf(stderr, "arenactl curve keygen: %s: %s%s\n", path, strerror(errno),
                errno == EEXIST ? " (use --force to replace it)" : "");
        return -1;
    }
    size_t n = strlen(text);
    bool ok = fchmod(fd, mode) == 0 && write(fd, text, n) == (ssize_t)n && fsync(fd) == 0;
    int e = errno;
    ok = close(fd) == 0 && ok;
    if (!ok) {
        fprintf(stderr, "arenactl curve keygen: write %s: %s\n", path, strerror(e));
        unlink(path);
        return -1;
    }
    return 0;
}

static int curve_keygen(int argc, char **argv)
{
    const char *dir = NULL, *name = "arena";
    bool force = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!strcmp(argv[i], "--name") && i + 1 < argc) {
            name = argv[++i];
        } else if (!strcmp(argv[i], "--force")) {
            force = true;
        } else if (!strcmp(argv[i], "--help")) {
            curve_usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "arenactl curve keygen: unexpected argument '%s'\n", argv[i]);
            curve_usage(stderr);
            return 2;
        }
    }
    if (!dir || !*dir || !*name || strchr(name, '/')) {
        fprintf(stderr, "arenactl curve keygen: --out DIR is required and NAME a plain name\n");
        return 2;
    }
    if (!arena_ctl_curve_available()) {
        fprintf(stderr, "arenactl curve keygen: this libzmq was built without CURVE\n");
        return 1;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "arenactl curve keygen: mkdir %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char pub[ARENA_CTL_Z85_LEN + 1], sec[ARENA_CTL_Z85_LEN + 1];
    if (zmq_curve_keypair(pub, sec) != 0) {
        fprintf(stderr, "arenactl curve keygen: zmq_curve_keypair: %s\n",
                zmq_strerror(zmq_errno()));
        return 1;
    }
    char *key_path = arena_xasprintf("%s/%s.key", dir, name);
    char *pub_path = arena_xasprintf("%s/%s.pub", dir, name);
    char *key_text =
        arena_xasprintf("# arena CURVE secret key '%s' (Z85). Keep it private.\n%s\n", name, sec);
    char *pub_text = arena_xasprintf("# arena CURVE public key '%s' (Z85)\n%s\n", name, pub);
    int rc = 1;
    if (write_key_file(key_path, key_text, 0600, force) == 0) {
        if (write_key_file(pub_path, pub_text, 0644, force) == 0) {
            printf("secret key: %s\npublic key: %s\n%s\n", key_path, pub_path, pub);
            rc = 0;
        } else {
            unlink(key_path); /* half a keypair is of no use */
        }
    }
    explicit_bzero(sec, sizeof(sec));
    explicit_bzero(key_text, strlen(key_text));
    free(key_text);
    free(pub_text);
    free(key_path);
    free(pub_path);
    return rc;
}

static int curve_public(int argc, char **argv)
{
    if (argc != 2) {
        curve_usage(stderr);
        return 2;
    }
    char(*keys)[ARENA_CTL_Z85_LEN + 1] = NULL;
    size_t n = 0;
    char errstr[512];
    if (arena_ctl_curve_read_keys(argv[1], &keys, &n, errstr, sizeof(errstr)) != ARENA_ERR_OK) {
        fprintf(stderr, "arenactl curve public: %s\n", errstr);
        return 1;
    }
    int rc = 0;
    char pub[ARENA_CTL_Z85_LEN + 1];
    if (n != 1) {
        fprintf(stderr, "arenactl curve public: %s holds %zu keys, expected one secret key\n",
                argv[1], n);
        rc = 1;
    } else if (zmq_curve_public(pub, keys[0]) != 0) {
        fprintf(stderr, "arenactl curve public: %s: %s\n", argv[1], zmq_strerror(zmq_errno()));
        rc = 1;
    } else {
        printf("%s\n", pub);
    }
    explicit_bzero(keys, n * sizeof(*keys));
    free(keys);
    return rc;
}

int arenactl_curve(const struct arena_config *cfg, int argc, char **argv)
{
    (void)cfg;
    if (argc >= 2 && !strcmp(argv[1], "keygen")) {
        return curve_keygen(argc - 1, argv + 1);
    }
    if (argc >= 2 && !strcmp(argv[1], "public")) {
        return curve_public(argc - 1, argv + 1);
    }
    if (argc == 2 && !strcmp(argv[1], "--help")) {
        curve_usage(stdout);
        return 0;
    }
    curve_usage(stderr);
    return 2;
}

int arenactl_curve_client_setup(const struct arena_config *cfg)
{
    const char *sk = cfg->curve.client_secret_key_file;
    const char *pk = cfg->curve.server_public_key_file;
    if ((!sk || !*sk) && (!pk || !*pk)) {
        return 0; /* plaintext */
    }
    struct arena_ctl_curve cv;
    char errstr[512];
    if (arena_ctl_curve_client_init(&cv, sk, pk, errstr, sizeof(errstr)) != ARENA_ERR_OK) {
        fprintf(stderr, "arenactl: %s\n", errstr);
        return -1;
    }
    arena_ctl_client_curve(&cv);
    arena_ctl_curve_fini(&cv);
    return 0;
}
