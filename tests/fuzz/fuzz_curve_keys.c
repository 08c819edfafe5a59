/* Fuzz target: arena_ctl_curve_read_keys() over a CURVE key file (curve.authorized_keys_file and
 * the key files are operator input). Properties: a file that loads gives keys of exactly 40
 * Z85 characters, each decodable to 32 bytes; a file that does not load explains itself with a
 * NUL-terminated reason that never contains a 40-character Z85 run of the input (errors name
 * the file and line, never a key). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "arena/ctl.h"
#include "arena/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/arena-fuzz-curve-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        return 0;
    }
    if (size > 0 && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    arena_log_clear_secrets();
    char(*keys)[ARENA_CTL_Z85_LEN + 1] = NULL;
    size_t n = 0;
    char err[512];
    memset(err, 'x', sizeof(err));
    arena_err_t e = arena_ctl_curve_read_keys(path, &keys, &n, err, sizeof(err));
    unlink(path);
    if (e == ARENA_ERR_OK) {
        for (size_t i = 0; i < n; i++) {
            uint8_t raw[32];
            if (strlen(keys[i]) != ARENA_CTL_Z85_LEN || zmq_z85_decode(raw, keys[i]) == NULL) {
                abort();
            }
        }
        free(keys);
        return 0;
    }
    if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0' || keys != NULL || n != 0) {
        abort();
    }
    /* the reason never quotes a key-sized Z85 run taken from the file */
    for (size_t i = 0; i + ARENA_CTL_Z85_LEN <= size; i++) {
        char cand[ARENA_CTL_Z85_LEN + 1];
        memcpy(cand, data + i, ARENA_CTL_Z85_LEN);
        cand[ARENA_CTL_Z85_LEN] = '\0';
        uint8_t raw[32];
        if (strlen(cand) == ARENA_CTL_Z85_LEN && zmq_z85_decode(raw, cand) != NULL &&
            strstr(err, cand) != NULL) {
            abort();
        }
    }
    return 0;
}
