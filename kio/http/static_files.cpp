// Router::static_dir: an async handler that opens the file beneath the root on the ring, checks
// the validators and the range, and answers with the open file as the body.
#include "kio/http/static_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

#include "kio/fs/file.hpp"
#include "kio/http/detail/chars.hpp"
#include "kio/http/detail/date.hpp"
#include "kio/http/router.hpp"

namespace kio::http {

namespace {

struct TypeEntry {
  std::string_view ext;
  std::string_view type;
};

constexpr TypeEntry content_types[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/x-icon"},
    {"wasm", "application/wasm"},
    {"pdf", "application/pdf"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tar", "application/x-tar"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"},
    {"wav", "audio/wav"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
};

std::string_view trim(std::string_view v) noexcept {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
    v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
    v.remove_suffix(1);
  return v;
}

int hex(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Decodes the captured path into `out` as a relative, NUL-terminated name: "." for the root.
/// Empty and "." segments are dropped. Returns ok, or the status refusing it.
Status decode_path(std::string_view raw, std::array<char, 1024>& out, std::size_t& len) noexcept {
  std::array<char, 1024> dec;
  std::size_t n = 0;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '%') {
      if (i + 2 >= raw.size()) return Status::bad_request;
      const int h = hex(raw[i + 1]), l = hex(raw[i + 2]);
      if (h < 0 || l < 0) return Status::bad_request;
      c = static_cast<char>(h * 16 + l);
      i += 2;
    }
    if (c == '\0') return Status::not_found;  // no file name holds a NUL
    if (n + 1 >= dec.size()) return Status::not_found;
    dec[n++] = c;
  }
  // Segment by segment: refuse "..", drop "" and ".".
  len = 0;
  std::size_t at = 0;
  while (at <= n) {
    std::size_t end = at;
    while (end < n && dec[end] != '/')
      ++end;
    std::string_view seg(dec.data() + at, end - at);
    if (seg == "..") return Status::forbidden;
    if (!seg.empty() && seg != ".") {
      if (len > 0) out[len++] = '/';
      std::memcpy(out.data() + len, seg.data(), seg.size());
      len += seg.size();
    }
    at = end + 1;
  }
  if (len == 0) out[len++] = '.';
  out[len] = '\0';
  return Status::ok;
}

Response refuse(Status s) {
  return Response::text(std::string(reason_phrase(s)) + "\n", s);
}

Status status_for_open_error(std::error_code ec) noexcept {
  if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory ||
      ec == std::errc::filename_too_long)
    return Status::not_found;
  if (ec == std::errc::cross_device_link || ec == std::errc::too_many_symbolic_link_levels ||
      ec == std::errc::permission_denied || ec == std::errc::operation_not_permitted)
    return Status::forbidden;
  return Status::internal_server_error;
}

/// "Sun, 06 Nov 1994 08:49:37 GMT" (29 characters) into `out`.
std::string_view http_date(std::time_t t, char (&out)[48]) noexcept {
  detail::format_date_line(t, out);  // "Date: " + 29 + "\r\n"
  return {out + 6, 29};
}

struct Shared {
  kio::fs::File root;
  std::string index;
};

constexpr int open_flags = O_RDONLY | O_NONBLOCK | O_NOCTTY;  // O_NONBLOCK: a FIFO never blocks

Response redirect_to_directory(const Request& req) {
  std::string location(req.path);
  location += '/';
  if (!req.query.empty()) location.append("?").append(req.query);
  Response r = refuse(Status::moved_permanently);
  r.header("Location", location);
  return r;
}

/// The answer for the regular file `f` (validators, conditionals, range). A plain function, so
/// its temporaries live on the stack rather than in serve_file's coroutine frame (which stays
/// small enough for the frame pool: no allocation per request).
Response file_response(const Request& req, kio::fs::File&& f, const struct statx& st,
                       std::string_view name) {
  const std::uint64_t size = st.stx_size;
  const std::time_t mtime = static_cast<std::time_t>(st.stx_mtime.tv_sec);
  char etag[48];
  const auto etag_len =
      fmt::format_to_n(etag, sizeof etag, "\"{:x}-{:x}\"", static_cast<std::uint64_t>(mtime), size);
  const std::string_view tag(etag, etag_len.size);
  char datebuf[48];
  const std::string_view last_modified = http_date(mtime, datebuf);

  // Conditionals (RFC 9110 13.2.2): If-None-Match first; If-Modified-Since only without it.
  bool not_modified = false;
  if (auto inm = req.headers.get("if-none-match")) {
    not_modified = detail::etag_list_matches(*inm, tag);
  } else if (auto ims = req.headers.get("if-modified-since")) {
    auto t = detail::parse_http_date(*ims);
    not_modified = t && mtime <= *t;
  }
  if (not_modified) {
    Response r(Status::not_modified);
    r.header("ETag", tag).header("Last-Modified", last_modified);
    return r;
  }

  detail::ByteRange range;
  if (auto rh = req.headers.get("range")) {
    bool use = true;
    if (auto ir = req.headers.get("if-range")) {
      std::string_view v = trim(*ir);
      use = v.starts_with('"') ? v == tag : v == last_modified;
    }
    if (use) range = detail::parse_range(*rh, size);
  }
  if (range.kind == detail::ByteRange::unsatisfiable) {
    Response r = refuse(Status::range_not_satisfiable);
    r.header("Content-Range", "bytes */" + std::to_string(size));
    return r;
  }
  Response r(range.kind == detail::ByteRange::satisfiable ? Status::partial_content : Status::ok);
  r.header("Content-Type", static_content_type(name))
      .header("Last-Modified", last_modified)
      .header("ETag", tag)
      .header("Accept-Ranges", "bytes");
  std::uint64_t first = 0, length = size;
  if (range.kind == detail::ByteRange::satisfiable) {
    first = range.first;
    length = range.length;
    char cr[80];
    const auto n =
        fmt::format_to_n(cr, sizeof cr, "bytes {}-{}/{}", first, first + length - 1, size);
    r.header("Content-Range", std::string_view(cr, n.size));
  }
  r.body_file(std::move(f), first, length);
  return r;
}

/// Appends "/<index>" to the directory name in `name` (of length `len`); false if it does not fit
/// or there is no index.
bool append_index(std::array<char, 1024>& name, std::size_t& len,
                  const std::string& index) noexcept {
  if (index.empty() || len + 1 + index.size() + 1 > name.size()) return false;
  if (len == 1 && name[0] == '.') len = 0;
  if (len > 0) name[len++] = '/';
  std::memcpy(name.data() + len, index.data(), index.size());
  len += index.size();
  name[len] = '\0';
  return true;
}

constexpr unsigned stat_mask = STATX_TYPE | STATX_SIZE | STATX_MTIME;

/// statx of an open file, called directly rather than on the ring: the kernel runs every
/// IORING_OP_STATX on its io-wq threads, and that hand-off cost about a fifth of the server's CPU
/// per 4 KiB request (tools/bench-static); the attributes of an open file on a local filesystem
/// are in memory, so the direct call does not wait.
Result<struct statx> stat_open_file(const kio::fs::File& f) noexcept {
  struct statx st{};
  if (::statx(f.fd(), "", AT_EMPTY_PATH, stat_mask, &st) != 0) return kio::errno_code(-errno);
  return st;
}

Task<Response> serve_file(const Shared* sh, Request& req) {
  std::array<char, 1024> name;
  std::size_t len = 0;
  if (Status s = decode_path(req.param("path"), name, len); s != Status::ok) co_return refuse(s);
  Result<kio::fs::File> f =
      co_await kio::fs::File::open_beneath(sh->root.fd(), name.data(), open_flags);
  if (!f) co_return refuse(status_for_open_error(f.error()));
  Result<struct statx> st = stat_open_file(*f);
  if (!st) co_return refuse(Status::internal_server_error);
  if (S_ISDIR(st->stx_mode)) {
    if (req.path.empty() || req.path.back() != '/') co_return redirect_to_directory(req);
    if (!append_index(name, len, sh->index)) co_return refuse(Status::not_found);
    f = co_await kio::fs::File::open_beneath(sh->root.fd(), name.data(), open_flags);
    if (!f) co_return refuse(status_for_open_error(f.error()));
    st = stat_open_file(*f);
    if (!st) co_return refuse(Status::internal_server_error);
  }
  if (!S_ISREG(st->stx_mode)) co_return refuse(Status::forbidden);
  co_return file_response(req, std::move(*f), *st, std::string_view(name.data(), len));
}

}  // namespace

std::string_view static_content_type(std::string_view name) noexcept {
  const std::size_t slash = name.rfind('/');
  const std::size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash))
    return "application/octet-stream";
  const std::string_view ext = name.substr(dot + 1);
  for (const TypeEntry& e : content_types)
    if (detail::iequals(e.ext, ext)) return e.type;
  return "application/octet-stream";
}

namespace detail {

std::optional<std::time_t> parse_http_date(std::string_view s) noexcept {
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  static constexpr std::string_view months = "JanFebMarAprMayJunJulAugSepOctNovDec";
  if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT")
    return std::nullopt;
  auto num = [&](std::size_t at, std::size_t n, int& out) {
    out = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  std::tm tm{};
  int day, year, hh, mm, ss;
  if (!num(5, 2, day) || !num(12, 4, year) || !num(17, 2, hh) || !num(20, 2, mm) || !num(23, 2, ss))
    return std::nullopt;
  const std::size_t mon = months.find(s.substr(8, 3));
  if (mon == std::string_view::npos || mon % 3 != 0) return std::nullopt;
  if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60) return std::nullopt;
  tm.tm_mday = day;
  tm.tm_mon = static_cast<int>(mon / 3);
  tm.tm_year = year - 1900;
  tm.tm_hour = hh;
  tm.tm_min = mm;
  tm.tm_sec = ss;
  return timegm(&tm);
}

ByteRange parse_range(std::string_view h, std::uint64_t size) noexcept {
  h = trim(h);
  if (h.size() < 6 || !iequals(h.substr(0, 6), "bytes=")) return {};
  h = trim(h.substr(6));
  if (h.find(',') != std::string_view::npos) return {};  // several ranges: send it all
  const std::size_t dash = h.find('-');
  if (dash == std::string_view::npos) return {};
  auto parse = [](std::string_view v, std::uint64_t& out) {
    v = trim(v);
    if (v.empty()) return false;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    return ec == std::errc() && p == v.data() + v.size();
  };
  std::uint64_t a = 0, b = 0;
  const std::string_view left = trim(h.substr(0, dash)), right = trim(h.substr(dash + 1));
  if (left.empty()) {  // suffix: the last b bytes
    if (!parse(right, b)) return {};
    if (b == 0 || size == 0) return {ByteRange::unsatisfiable};
    const std::uint64_t n = b < size ? b : size;
    return {ByteRange::satisfiable, size - n, n};
  }
  if (!parse(left, a)) return {};
  if (right.empty()) {
    b = UINT64_MAX;
  } else if (!parse(right, b) || b < a) {
    return {};
  }
  if (a >= size) return {ByteRange::unsatisfiable};
  if (b >= size) b = size - 1;
  return {ByteRange::satisfiable, a, b - a + 1};
}

bool etag_list_matches(std::string_view list, std::string_view etag) noexcept {
  list = trim(list);
  if (list == "*") return true;
  auto opaque = [](std::string_view t) {
    if (t.starts_with("W/")) t.remove_prefix(2);
    return t;
  };
  const std::string_view want = opaque(etag);
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view item = trim(list.substr(0, comma));
    if (!item.empty() && opaque(item) == want) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace detail

Router& Router::static_dir(std::string_view prefix, std::string_view dir) {
  return static_dir(prefix, dir, StaticOptions{});
}

Router& Router::static_dir(std::string_view prefix, std::string_view dir,
                           const StaticOptions& opts) {
  if (prefix.empty() || prefix[0] != '/' || (prefix.size() > 1 && prefix.back() == '/'))
    throw std::invalid_argument("kio::http::Router::static_dir: prefix \"" + std::string(prefix) +
                                "\" must be \"/\" or start with '/' and not end with one");
  const std::string d(dir);
  const int fd = ::open(d.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    throw std::system_error(errno, std::generic_category(),
                            "kio::http::Router::static_dir: cannot open directory \"" + d + "\"");
  auto sh = std::make_shared<Shared>();
  sh->root = kio::fs::File(fd);
  sh->index = opts.index;
  const std::string base = prefix == "/" ? std::string() : std::string(prefix);
  route("GET", base + "/*path",
        // The Router keeps the lambda, and so `sh`, for as long as the server runs; requests use
        // the raw pointer (no reference-count traffic shared by every core).
        [sh](Request& req) -> Task<Response> { return serve_file(sh.get(), req); });
  if (!base.empty()) {
    // "/assets" -> "/assets/", as for any directory.
    route("GET", base, [base](Request& req) {
      Response r = refuse(Status::moved_permanently);
      std::string location = base + "/";
      if (!req.query.empty()) location.append("?").append(req.query);
      r.header("Location", location);
      return r;
    });
  }
  return *this;
}

}  // namespace kio::http
