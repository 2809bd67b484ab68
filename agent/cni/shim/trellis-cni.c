/*
 * trellis-cni: the CNI plugin binary in /opt/cni/bin. It carries no logic: it forwards the
 * runtime's request (CNI_* environment + stdin) to the Trellis node agent over a unix socket and
 * relays the agent's reply (stdout, stderr, exit code). A static C binary starts in about a
 * millisecond; starting Node for every CNI call would cost ~125 ms. See docs/cni.md.
 *
 * Frame format (all integers u32 big-endian), one request and one reply per connection:
 *   request = "TCNI" version(1) env_count (len "KEY=VALUE")* stdin_len stdin
 *   reply   = exit_code stdout_len stdout stderr_len stderr
 * Limits match agent/cni/frame.ts.
 *
 * The socket path is the top-level "agentSocket" string of the configuration, else
 * /run/trellis/cni.sock. The scan for it (and for "cniVersion") is deliberately minimal: it
 * follows JSON nesting and strings, but keys or values written with backslash escapes are not
 * recognised. The agent validates the full configuration.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define FRAME_VERSION 1u
#define MAX_PAYLOAD_BYTES (1024u * 1024u)
#define MAX_ENV_COUNT 4096u
#define DEFAULT_SOCKET "/run/trellis/cni.sock"
#define DEFAULT_CNI_VERSION "1.1.0"
#define SUPPORTED_VERSIONS "[\"0.4.0\",\"1.0.0\",\"1.1.0\"]"
#define CONNECT_TIMEOUT_MS 5000
/* Above the agent's own per-request timeout (90 s), so the agent's precise error wins. */
#define REPLY_TIMEOUT_MS 120000

#define CNI_ERR_IO_FAILURE 5
#define CNI_ERR_INVALID_NETWORK_CONFIG 7
#define CNI_ERR_TRY_AGAIN_LATER 11

extern char **environ;

struct buf {
  unsigned char *data;
  size_t len;
  size_t cap;
};

static void buf_reserve(struct buf *b, size_t extra) {
  if (b->len + extra <= b->cap) return;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + extra) cap *= 2;
  unsigned char *p = realloc(b->data, cap);
  if (p == NULL) {
    /* Out of memory in a program this small: nothing sensible to report through JSON. */
    perror("trellis-cni: realloc");
    exit(1);
  }
  b->data = p;
  b->cap = cap;
}

static void buf_append(struct buf *b, const void *data, size_t len) {
  buf_reserve(b, len);
  memcpy(b->data + b->len, data, len);
  b->len += len;
}

static void buf_u32(struct buf *b, uint32_t v) {
  unsigned char be[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
  buf_append(b, be, 4);
}

static int write_all_fd(int fd, const void *data, size_t len) {
  const unsigned char *p = data;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static void put_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

/* The CNI error result on stdout (where runtimes read it), then exit 1. */
static void fail(const char *cni_version, int code, const char *msg, const char *details) {
  fputs("{\"cniVersion\":", stdout);
  put_json_string(stdout, cni_version);
  fprintf(stdout, ",\"code\":%d,\"msg\":", code);
  put_json_string(stdout, msg);
  fputs(",\"details\":", stdout);
  put_json_string(stdout, details);
  fputs("}\n", stdout);
  fflush(stdout);
  exit(1);
}

static size_t skip_ws(const unsigned char *s, size_t n, size_t i) {
  while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
  return i;
}

/*
 * Finds `key` among the members of the top-level JSON object and copies its string value into
 * out. Returns 1 when found, 0 when absent, -1 when present but not a plain string (not a
 * string, escapes or control characters, or longer than outsz - 1).
 */
static int top_level_string(const unsigned char *s, size_t n, const char *key, char *out, size_t outsz) {
  size_t klen = strlen(key);
  int depth = 0;
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c == '{' || c == '[') {
      depth++;
      i++;
      continue;
    }
    if (c == '}' || c == ']') {
      depth--;
      i++;
      continue;
    }
    if (c != '"') {
      i++;
      continue;
    }
    size_t start = ++i;
    int escaped = 0;
    while (i < n && s[i] != '"') {
      if (s[i] == '\\') {
        escaped = 1;
        i++;
      }
      i++;
    }
    if (i >= n) return 0;
    size_t end = i++;
    if (depth != 1 || escaped || end - start != klen || memcmp(s + start, key, klen) != 0) continue;
    size_t j = skip_ws(s, n, i);
    if (j >= n || s[j] != ':') continue; /* a string value, not a key */
    j = skip_ws(s, n, j + 1);
    if (j >= n || s[j] != '"') return -1;
    size_t vstart = ++j;
    while (j < n && s[j] != '"') {
      if (s[j] == '\\' || s[j] < 0x20) return -1;
      j++;
    }
    if (j >= n || j - vstart + 1 > outsz) return -1;
    memcpy(out, s + vstart, j - vstart);
    out[j - vstart] = '\0';
    return 1;
  }
  return 0;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for `events` on fd until deadline; 0 when ready, -1 with errno (ETIMEDOUT) otherwise. */
static int wait_fd(int fd, short events, int64_t deadline) {
  for (;;) {
    int64_t left = deadline - now_ms();
    if (left <= 0) {
      errno = ETIMEDOUT;
      return -1;
    }
    struct pollfd p = {.fd = fd, .events = events};
    int r = poll(&p, 1, (int)left);
    if (r > 0) return 0;
    if (r < 0 && errno != EINTR) return -1;
  }
}

static int send_all(int fd, const unsigned char *data, size_t len, int64_t deadline) {
  while (len > 0) {
    if (wait_fd(fd, POLLOUT, deadline) < 0) return -1;
    ssize_t n = send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return -1;
    }
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Reads exactly len bytes; -1 with errno, or with errno 0 on a premature end of stream. */
static int recv_all(int fd, unsigned char *data, size_t len, int64_t deadline) {
  while (len > 0) {
    if (wait_fd(fd, POLLIN, deadline) < 0) return -1;
    ssize_t n = recv(fd, data, len, MSG_DONTWAIT);
    if (n == 0) {
      errno = 0;
      return -1;
    }
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return -1;
    }
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

static int recv_u32(int fd, uint32_t *v, int64_t deadline) {
  unsigned char be[4];
  if (recv_all(fd, be, 4, deadline) < 0) return -1;
  *v = ((uint32_t)be[0] << 24) | ((uint32_t)be[1] << 16) | ((uint32_t)be[2] << 8) | be[3];
  return 0;
}

/* Reads a length-prefixed field into a new buffer; -1 with errno EMSGSIZE when over the limit. */
static int recv_field(int fd, struct buf *out, int64_t deadline) {
  uint32_t len;
  if (recv_u32(fd, &len, deadline) < 0) return -1;
  if (len > MAX_PAYLOAD_BYTES) {
    errno = EMSGSIZE;
    return -1;
  }
  buf_reserve(out, len);
  if (recv_all(fd, out->data, len, deadline) < 0) return -1;
  out->len = len;
  return 0;
}

static void read_stdin(struct buf *in, const char *cni_version) {
  for (;;) {
    buf_reserve(in, 65536);
    ssize_t n = read(STDIN_FILENO, in->data + in->len, in->cap - in->len);
    if (n == 0) return;
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(cni_version, CNI_ERR_IO_FAILURE, "failed to read the network configuration from stdin", strerror(errno));
    }
    in->len += (size_t)n;
    if (in->len > MAX_PAYLOAD_BYTES) {
      fail(cni_version, CNI_ERR_IO_FAILURE, "network configuration too large",
           "stdin is larger than the 1048576-byte limit of trellis-cni");
    }
  }
}

static void build_request(struct buf *req, const struct buf *in, const char *cni_version) {
  uint32_t count = 0;
  size_t env_bytes = 0;
  for (char **e = environ; *e; e++) {
    if (strncmp(*e, "CNI_", 4) != 0) continue;
    count++;
    env_bytes += strlen(*e);
  }
  if (count > MAX_ENV_COUNT || env_bytes > MAX_PAYLOAD_BYTES) {
    fail(cni_version, CNI_ERR_IO_FAILURE, "CNI_* environment too large", "more than 4096 variables or 1048576 bytes");
  }
  buf_append(req, "TCNI", 4);
  buf_u32(req, FRAME_VERSION);
  buf_u32(req, count);
  for (char **e = environ; *e; e++) {
    if (strncmp(*e, "CNI_", 4) != 0) continue;
    size_t len = strlen(*e);
    buf_u32(req, (uint32_t)len);
    buf_append(req, *e, len);
  }
  buf_u32(req, (uint32_t)in->len);
  buf_append(req, in->data, in->len);
}

/* Connects with a timeout; -1 with errno on failure. */
static int connect_agent(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  /* A blocking unix connect() waits for backlog room up to SO_SNDTIMEO. */
  struct timeval tv = {.tv_sec = CONNECT_TIMEOUT_MS / 1000, .tv_usec = (CONNECT_TIMEOUT_MS % 1000) * 1000};
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  memcpy(addr.sun_path, path, strlen(path) + 1);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0 ||
      connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    int saved = errno;
    close(fd);
    errno = saved == EAGAIN || saved == EINPROGRESS ? ETIMEDOUT : saved;
    return -1;
  }
  return fd;
}

/* Transport failures: VERSION still answers (runtimes probe it before the agent is up). */
static void unreachable(const char *command, const char *cni_version, const char *msg, const char *path, int err) {
  if (strcmp(command, "VERSION") == 0) {
    fputs("{\"cniVersion\":", stdout);
    put_json_string(stdout, cni_version);
    fputs(",\"supportedVersions\":" SUPPORTED_VERSIONS "}\n", stdout);
    fflush(stdout);
    exit(0);
  }
  char details[sizeof(((struct sockaddr_un *)0)->sun_path) + 128];
  snprintf(details, sizeof details, "%s: %s", path, err == 0 ? "connection closed by the agent" : strerror(err));
  fail(cni_version, CNI_ERR_TRY_AGAIN_LATER, msg, details);
}

int main(void) {
  const char *command = getenv("CNI_COMMAND");
  if (command == NULL) command = "";

  struct buf in = {0};
  read_stdin(&in, DEFAULT_CNI_VERSION);

  char cni_version[64];
  if (top_level_string(in.data, in.len, "cniVersion", cni_version, sizeof cni_version) != 1) {
    strcpy(cni_version, DEFAULT_CNI_VERSION);
  }
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  int found = top_level_string(in.data, in.len, "agentSocket", path, sizeof path);
  if (found < 0) {
    fail(cni_version, CNI_ERR_INVALID_NETWORK_CONFIG, "invalid network configuration",
         "agentSocket: must be a plain string (no escapes) of at most 107 bytes");
  }
  if (found == 0) strcpy(path, DEFAULT_SOCKET);

  struct buf req = {0};
  build_request(&req, &in, cni_version);

  int fd = connect_agent(path);
  if (fd < 0) unreachable(command, cni_version, "trellis agent not reachable", path, errno);

  int64_t deadline = now_ms() + REPLY_TIMEOUT_MS;
  if (send_all(fd, req.data, req.len, deadline) < 0) {
    unreachable(command, cni_version, "failed to send the request to the trellis agent", path, errno);
  }
  uint32_t exit_code;
  struct buf out = {0}, err = {0};
  if (recv_u32(fd, &exit_code, deadline) < 0 || recv_field(fd, &out, deadline) < 0 ||
      recv_field(fd, &err, deadline) < 0) {
    unreachable(command, cni_version, "no complete reply from the trellis agent", path, errno);
  }
  close(fd);

  if (write_all_fd(STDOUT_FILENO, out.data, out.len) < 0) return 1;
  if (write_all_fd(STDERR_FILENO, err.data, err.len) < 0) return 1;
  return exit_code == 0 ? 0 : exit_code <= 255 ? (int)exit_code : 1;
}
