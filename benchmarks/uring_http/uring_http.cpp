// uring_http — the hand-written io_uring baseline for tools/bench-http: the leanest HTTP/1.1
// "Hello, World!" server we could write against raw liburing 2.3, without kio. It is the floor
// kio's demo/tcp_demo is measured against ("server CPU per request within 5 % of the best
// hand-written io_uring loop", issue 5).
//
//   uring_http [--port 8080] [--workers N] [--buffers 1024] [--buffer-size 16384]
//
// Same bytes on the wire as tcp_demo for a GET:
//   HTTP/1.1 200 OK\r\nContent-Length: 13\r\nDate: <IMF-fixdate>\r\nContent-Type: text/plain
//   \r\n\r\nHello, World!
//
// Shape (the same as kio's): one thread per worker, pinned to the worker's CPU of the affinity
// mask; each with its own ring (SINGLE_ISSUER | DEFER_TASKRUN), its own SO_REUSEPORT listener
// (TCP_NODELAY, inherited by accepted sockets), one multishot accept, and one multishot recv per
// connection into the worker's provided-buffer ring (mmap + io_uring_register_buf_ring).
//
// Request framing is the minimum wrk needs, and nothing more: a request ends at "\r\n\r\n". The
// matcher's state survives between receives, so a request (or a pipelined batch) split across
// reads at any byte is counted once, when its last byte arrives. No request is copied: a received
// buffer goes back to the ring as soon as it was scanned. Every complete request of one read is
// answered, in order, by ONE send; responses owed while a send is in flight go out when it
// completes (and a short send is continued), so pipelining is answered correctly. Request bodies,
// "Connection: close" and HTTP/1.0 are NOT handled (wrk sends none of them): this is a benchmark
// baseline, not an HTTP server.
//
// The responses come from one per-worker block holding kResponsesPerBlock copies of the response;
// the Date is rewritten in place when the second changes (checked once per batch of completions).
// A send in flight may pick up the new Date: harmless, every copy has the same length.
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string_view>
#include <thread>
#include <vector>

namespace {

constexpr std::string_view kHeadPrefix = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nDate: ";
constexpr std::size_t kDateLen = 29;  // "Mon, 23 Nov 2026 12:56:45 GMT"
constexpr std::string_view kHeadSuffix = "\r\nContent-Type: text/plain\r\n\r\nHello, World!";
constexpr std::size_t kResponseLen = kHeadPrefix.size() + kDateLen + kHeadSuffix.size();
constexpr unsigned kResponsesPerBlock = 64;
constexpr unsigned kBufferGroup = 0;

struct Options {
  int port = 8080;
  unsigned workers = 0;
  unsigned buffers = 1024;           // provided buffers per worker (power of two)
  unsigned buffer_size = 16 * 1024;  // bytes per buffer (kio's default too)
};

[[noreturn]] void die(const char* what, int err) {
  std::fprintf(stderr, "uring_http: %s: %s\n", what, std::strerror(err));
  std::exit(1);
}

// user_data: a Conn* (8-byte aligned) with the operation in the low bits.
enum Op : std::uint64_t { kRecv = 0, kSend = 1, kAccept = 2, kIgnore = 3 };

struct Conn {
  int fd = -1;
  unsigned match = 0;           // bytes of "\r\n\r\n" matched so far
  std::uint64_t queued = 0;     // response bytes owed and not yet handed to a send
  std::uint32_t phase = 0;      // offset within a response of the next byte to send
  std::uint32_t in_flight = 0;  // bytes of the send in flight (0: none)
  bool receiving = false;       // the multishot recv is armed
};

class Worker {
 public:
  Worker(const Options& o, unsigned cpu) : opts_(o), cpu_(cpu) {}
  void run();

 private:
  io_uring_sqe* sqe() {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    while (s == nullptr) {  // SQ full: hand what is queued to the kernel, then retry
      io_uring_submit(&ring_);
      s = io_uring_get_sqe(&ring_);
    }
    return s;
  }
  static std::uint64_t tag(Conn* c, Op op) { return reinterpret_cast<std::uint64_t>(c) | op; }

  void setup_ring();
  void setup_buffers();
  void listen();
  void arm_accept();
  void arm_recv(Conn* c);
  void maybe_send(Conn* c);
  void maybe_close(Conn* c);
  void refresh_date();
  void on_accept(const io_uring_cqe* cqe);
  void on_recv(Conn* c, const io_uring_cqe* cqe);
  void on_send(Conn* c, int res);
  static unsigned count_requests(Conn* c, const char* p, std::size_t n);

  const Options& opts_;
  unsigned cpu_;
  io_uring ring_{};
  int listen_fd_ = -1;
  io_uring_buf_ring* br_ = nullptr;
  char* buf_mem_ = nullptr;
  unsigned returned_ = 0;  // buffers given back since the last io_uring_buf_ring_advance
  std::vector<char> block_;
  std::time_t date_second_ = -1;
};

void Worker::setup_ring() {
  io_uring_params p{};
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
  p.cq_entries = 16384;
  if (int r = io_uring_queue_init_params(4096, &ring_, &p); r < 0) die("io_uring_queue_init", -r);
}

void Worker::setup_buffers() {
  const unsigned n = opts_.buffers;
  void* ring_mem = ::mmap(nullptr, n * sizeof(io_uring_buf), PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (ring_mem == MAP_FAILED) die("mmap buffer ring", errno);
  br_ = static_cast<io_uring_buf_ring*>(ring_mem);
  io_uring_buf_ring_init(br_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uint64_t>(ring_mem);
  reg.ring_entries = n;
  reg.bgid = kBufferGroup;
  if (int r = io_uring_register_buf_ring(&ring_, &reg, 0); r < 0) die("register_buf_ring", -r);
  // Not pre-faulted (like kio's): a small request touches only the first page of its buffer.
  void* mem = ::mmap(nullptr, std::size_t{n} * opts_.buffer_size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) die("mmap buffers", errno);
  buf_mem_ = static_cast<char*>(mem);
  const int mask = io_uring_buf_ring_mask(n);
  for (unsigned i = 0; i < n; ++i)
    io_uring_buf_ring_add(br_, buf_mem_ + std::size_t{i} * opts_.buffer_size, opts_.buffer_size,
                          static_cast<unsigned short>(i), mask, static_cast<int>(i));
  io_uring_buf_ring_advance(br_, static_cast<int>(n));
}

void Worker::listen() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) die("socket", errno);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  ::setsockopt(listen_fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // copied on accept
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_ANY);
  sa.sin_port = htons(static_cast<std::uint16_t>(opts_.port));
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) die("bind", errno);
  if (::listen(listen_fd_, 4096) != 0) die("listen", errno);
}

void Worker::arm_accept() {
  io_uring_sqe* s = sqe();
  io_uring_prep_multishot_accept(s, listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(s, tag(nullptr, kAccept));
}

void Worker::arm_recv(Conn* c) {
  io_uring_sqe* s = sqe();
  io_uring_prep_recv_multishot(s, c->fd, nullptr, 0, 0);
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = kBufferGroup;
  io_uring_sqe_set_data64(s, tag(c, kRecv));
  c->receiving = true;
}

void Worker::refresh_date() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  if (ts.tv_sec == date_second_) return;
  date_second_ = ts.tv_sec;
  tm t;
  ::gmtime_r(&ts.tv_sec, &t);
  char date[kDateLen + 1];
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &t);
  for (unsigned i = 0; i < kResponsesPerBlock; ++i)
    std::memcpy(block_.data() + i * kResponseLen + kHeadPrefix.size(), date, kDateLen);
}

unsigned Worker::count_requests(Conn* c, const char* p, std::size_t n) {
  unsigned done = 0, m = c->match;
  for (std::size_t i = 0; i < n; ++i) {
    const char ch = p[i];
    if (ch == ((m & 1) ? '\n' : '\r')) {  // "\r\n\r\n": even positions '\r', odd '\n'
      if (++m == 4) {
        ++done;
        m = 0;
      }
    } else {
      m = ch == '\r' ? 1 : 0;
    }
  }
  c->match = m;
  return done;
}

// Hands the owed bytes to one send (the block holds kResponsesPerBlock responses; more are sent
// by the next send, when this one completes).
void Worker::maybe_send(Conn* c) {
  if (c->in_flight != 0 || c->queued == 0) return;
  const std::uint64_t room = kResponsesPerBlock * kResponseLen - c->phase;
  const auto len = static_cast<std::uint32_t>(c->queued < room ? c->queued : room);
  io_uring_sqe* s = sqe();
  io_uring_prep_send(s, c->fd, block_.data() + c->phase, len, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(s, tag(c, kSend));
  c->in_flight = len;
  c->queued -= len;
}

// Frees the connection once nothing of it is in the kernel: its recv ended and no send is in
// flight. Responses still owed to a peer that half-closed are sent first.
void Worker::maybe_close(Conn* c) {
  if (c->receiving || c->in_flight != 0 || c->queued != 0) return;
  io_uring_sqe* s = sqe();
  io_uring_prep_close(s, c->fd);
  io_uring_sqe_set_data64(s, tag(nullptr, kIgnore));
  delete c;
}

void Worker::on_accept(const io_uring_cqe* cqe) {
  if (cqe->res >= 0) {
    auto* c = new Conn;
    c->fd = cqe->res;
    arm_recv(c);
  } else if (cqe->res == -EMFILE || cqe->res == -ENFILE) {
    std::fprintf(stderr, "uring_http: accept: %s\n", std::strerror(-cqe->res));
  }
  if (!(cqe->flags & IORING_CQE_F_MORE)) arm_accept();
}

void Worker::on_recv(Conn* c, const io_uring_cqe* cqe) {
  const int res = cqe->res;
  if (cqe->flags & IORING_CQE_F_BUFFER) {
    const auto bid = static_cast<unsigned short>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    char* data = buf_mem_ + std::size_t{bid} * opts_.buffer_size;
    if (res > 0) {
      c->queued +=
          std::uint64_t{count_requests(c, data, static_cast<std::size_t>(res))} * kResponseLen;
    }
    io_uring_buf_ring_add(br_, data, opts_.buffer_size, bid, io_uring_buf_ring_mask(opts_.buffers),
                          static_cast<int>(returned_++));
  }
  if (!(cqe->flags & IORING_CQE_F_MORE)) {
    c->receiving = false;
    if (res == -ENOBUFS || (res > 0)) arm_recv(c);  // ring ran dry, or the kernel stopped early
  }
  maybe_send(c);
  maybe_close(c);
}

void Worker::on_send(Conn* c, int res) {
  const std::uint32_t sent = c->in_flight;
  c->in_flight = 0;
  if (res < 0) {
    // The peer is gone: drop what is owed, end the recv (shutdown completes it), then free.
    c->queued = 0;
    ::shutdown(c->fd, SHUT_RDWR);
  } else {
    const auto done = static_cast<std::uint32_t>(res);
    c->queued += sent - done;  // a short send: the rest goes first next time
    c->phase = static_cast<std::uint32_t>((c->phase + done) % kResponseLen);
    maybe_send(c);
  }
  maybe_close(c);
}

void Worker::run() {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu_, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);

  block_.resize(kResponsesPerBlock * kResponseLen);
  for (unsigned i = 0; i < kResponsesPerBlock; ++i) {
    char* r = block_.data() + i * kResponseLen;
    std::memcpy(r, kHeadPrefix.data(), kHeadPrefix.size());
    std::memcpy(r + kHeadPrefix.size() + kDateLen, kHeadSuffix.data(), kHeadSuffix.size());
  }
  refresh_date();
  setup_ring();
  setup_buffers();
  listen();
  arm_accept();

  for (;;) {
    int r = io_uring_submit_and_wait(&ring_, 1);
    if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) die("io_uring_submit_and_wait", -r);
    refresh_date();
    unsigned head, seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++seen;
      const std::uint64_t ud = cqe->user_data;
      auto* c = reinterpret_cast<Conn*>(ud & ~std::uint64_t{7});
      switch (static_cast<Op>(ud & 7)) {
        case kRecv:
          on_recv(c, cqe);
          break;
        case kSend:
          on_send(c, cqe->res);
          break;
        case kAccept:
          on_accept(cqe);
          break;
        case kIgnore:
          break;
      }
    }
    io_uring_cq_advance(&ring_, seen);
    if (returned_ != 0) {
      io_uring_buf_ring_advance(br_, static_cast<int>(returned_));
      returned_ = 0;
    }
  }
}

[[noreturn]] void usage() {
  std::fputs(
      "usage: uring_http [--port 8080] [--workers N] [--buffers 1024] [--buffer-size 16384]\n",
      stderr);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (i + 1 >= argc) usage();
    const long v = std::strtol(argv[++i], nullptr, 10);
    if (a == "--port" && v >= 0 && v <= 65535)
      o.port = static_cast<int>(v);
    else if (a == "--workers" && v >= 0)
      o.workers = static_cast<unsigned>(v);
    else if (a == "--buffers" && v > 0 && v <= 32768 && (v & (v - 1)) == 0)
      o.buffers = static_cast<unsigned>(v);
    else if (a == "--buffer-size" && v >= 64)
      o.buffer_size = static_cast<unsigned>(v);
    else
      usage();
  }
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  ::sched_getaffinity(0, sizeof allowed, &allowed);
  std::vector<unsigned> cpus;
  for (unsigned c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &allowed)) cpus.push_back(c);
  if (o.workers == 0) o.workers = static_cast<unsigned>(cpus.size());

  std::printf("uring_http: http://0.0.0.0:%d/ on %u workers\n", o.port, o.workers);
  std::fflush(stdout);
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < o.workers; ++i)
    threads.emplace_back([&o, cpu = cpus[i % cpus.size()]] { Worker(o, cpu).run(); });
  Worker(o, cpus[0]).run();  // worker 0 on the main thread; runs until the process is killed
}
