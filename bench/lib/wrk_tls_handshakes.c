/*
 * wrk_tls_handshakes.c - an LD_PRELOAD library for wrk's https runs in the TLS
 * section (bench/run.sh --tls): it counts wrk's TLS handshakes, full and
 * resumed, and with BENCH_WRK_TLS_RESUME=0 it makes every one of them a full
 * handshake.
 *
 * Why: wrk 4.1 (src/ssl.c) ends a connection with SSL_shutdown + SSL_clear
 * and reconnects with the same SSL object. SSL_clear keeps the session, and in
 * TLS 1.3 that is the last ticket the server sent, so every reconnect offers
 * it and resumes (PSK with a fresh X25519 exchange, no certificate and no
 * signature). With `-H 'Connection: close'` against a server that issues
 * tickets (rustls does by default, and so does OpenSSL) nearly every request
 * is then a resumed handshake, not a new one. wrk has no option against it,
 * and OpenSSL's configuration file has none for a TLS 1.3 client either.
 *
 *   BENCH_WRK_TLS_RESUME=0  after wrk's SSL_clear, drop the session
 *                           (SSL_set_session(ssl, NULL)): the next
 *                           SSL_connect is a full handshake
 *   anything else, unset    wrk as it is (reconnects resume when they can)
 *
 * At exit it writes one line to stderr, which bench/lib/wrk_run.py reads:
 *   wrk-tls-handshakes: full N resumed M version TLSv1.3 cipher TLS_AES_256_GCM_SHA384 other K
 * the protocol version and cipher suite of wrk's first handshake, as OpenSSL
 * names them, and K the number of later handshakes with another version or
 * suite.
 *
 * Build: cc -O2 -shared -fPIC -o wrk_tls_handshakes.so wrk_tls_handshakes.c
 * (bench/run.sh does, into its cache). It needs no OpenSSL headers and links
 * no OpenSSL library: the functions are looked up in wrk's own libssl when
 * first called, so the library is harmless in processes without OpenSSL
 * (taskset, which execs wrk, loads it too).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct ssl_st SSL;
typedef struct ssl_session_st SSL_SESSION;
typedef struct ssl_cipher_st SSL_CIPHER;

static unsigned long full, resumed, other;
/* OpenSSL returns static strings for both: compared by address. */
static const char *first_version, *first_cipher;
static int drop_session = -1; /* -1: not read yet */

static void *next(const char *name) {
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) {
        fprintf(stderr, "wrk_tls_handshakes: %s not found\n", name);
        abort();
    }
    return f;
}

int SSL_connect(SSL *ssl) {
    static int (*real)(SSL *);
    static int (*reused)(const SSL *);
    static const char *(*get_version)(const SSL *);
    static const SSL_CIPHER *(*get_cipher)(const SSL *);
    static const char *(*cipher_name)(const SSL_CIPHER *);
    if (!real) {
        real = (int (*)(SSL *))next("SSL_connect");
        reused = (int (*)(const SSL *))next("SSL_session_reused");
        get_version = (const char *(*)(const SSL *))next("SSL_get_version");
        get_cipher = (const SSL_CIPHER *(*)(const SSL *))next("SSL_get_current_cipher");
        cipher_name = (const char *(*)(const SSL_CIPHER *))next("SSL_CIPHER_get_name");
    }
    int r = real(ssl);
    if (r == 1) { /* the handshake is complete (wrk retries until it is) */
        if (reused(ssl)) {
            __atomic_add_fetch(&resumed, 1, __ATOMIC_RELAXED);
        } else {
            __atomic_add_fetch(&full, 1, __ATOMIC_RELAXED);
        }
        const char *version = get_version(ssl);
        const char *cipher = cipher_name(get_cipher(ssl));
        /* wrk -t1 runs one thread; with more, the first one to get here wins. */
        if (!first_version) {
            first_version = version;
            first_cipher = cipher;
        } else if (version != first_version || cipher != first_cipher) {
            __atomic_add_fetch(&other, 1, __ATOMIC_RELAXED);
        }
    }
    return r;
}

int SSL_clear(SSL *ssl) {
    static int (*real)(SSL *);
    static int (*set_session)(SSL *, SSL_SESSION *);
    if (!real) {
        real = (int (*)(SSL *))next("SSL_clear");
        set_session = (int (*)(SSL *, SSL_SESSION *))next("SSL_set_session");
    }
    if (drop_session < 0) {
        const char *v = getenv("BENCH_WRK_TLS_RESUME");
        drop_session = v && v[0] == '0' && v[1] == '\0';
    }
    int r = real(ssl);
    if (drop_session) {
        set_session(ssl, NULL);
    }
    return r;
}

__attribute__((destructor)) static void report(void) {
    if (full || resumed) {
        fprintf(stderr, "wrk-tls-handshakes: full %lu resumed %lu version %s cipher %s other %lu\n", full, resumed,
                first_version ? first_version : "?", first_cipher ? first_cipher : "?", other);
    }
}
