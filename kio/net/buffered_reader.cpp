#include "kio/net/buffered_reader.hpp"

#include <algorithm>
#include <utility>

namespace kio::net {

namespace {

constexpr std::size_t npos = std::string_view::npos;

/// The first occurrence of `delim` in the concatenation a + b, where `a` contains none. Returns
/// its position in a + b, or npos. Looks only at the junction (a's last d-1 bytes with b's
/// first ones) and at b, so a long `a` is not searched again; allocates nothing.
std::size_t find_across(std::string_view a, std::string_view b, std::string_view delim) noexcept {
  const std::size_t d = delim.size();
  const std::size_t tail = std::min(a.size(), d - 1);
  for (std::size_t start = a.size() - tail; start < a.size(); ++start) {
    const std::size_t in_a = a.size() - start;  // 1..d-1 bytes of delim in a
    if (b.size() < d - in_a) continue;
    if (a.substr(start) == delim.substr(0, in_a) && b.substr(0, d - in_a) == delim.substr(in_a))
      return start;
  }
  const std::size_t p = b.find(delim);
  return p == npos ? npos : a.size() + p;
}

/// `total` bytes seen without a delimiter: is the record's content already longer than `max`?
/// The delimiter (and, for a line, a '\r' before it) may still start in the last `slack` bytes.
bool too_long_without_delim(std::size_t total, std::size_t slack, std::size_t max) noexcept {
  return total - std::min(total, slack) > max;
}

}  // namespace

void BufferedReader::drop_returned() noexcept {
  if (carry_used_ != 0) {
    if (carry_used_ >= carry_.size())
      carry_.clear();  // keeps the capacity
    else
      carry_.erase(0, carry_used_);
    carry_used_ = 0;
  }
  if (lease_used_ != 0) {
    lease_.remove_prefix(lease_used_);
    lease_used_ = 0;
  }
  if (lease_.size() == 0) lease_.release();  // back to the ring at once
}

std::string_view BufferedReader::lease_view() const noexcept {
  return lease_.view().substr(lease_used_);
}

std::string_view BufferedReader::buffered() const noexcept {
  std::string_view c = std::string_view(carry_).substr(carry_used_);
  return c.empty() ? lease_view() : c;
}

void BufferedReader::spill_lease() {
  const std::string_view v = lease_view();
  carry_.append(v);
  copied_ += v.size();
  lease_.release();
  lease_used_ = 0;
}

void BufferedReader::take_from_lease(std::size_t n) {
  carry_.append(lease_view().substr(0, n));
  copied_ += n;
  lease_used_ += n;
}

Task<std::error_code> BufferedReader::fill() {
  if (eof_) co_return std::make_error_code(end_of_stream);
  Result<RecvBuffer> b = co_await s_->recv();
  if (!b) co_return b.error();
  if (b->empty()) {
    eof_ = true;
    co_return std::make_error_code(end_of_stream);
  }
  lease_ = std::move(*b);
  lease_used_ = 0;
  co_return std::error_code{};
}

Task<Result<std::string_view>> BufferedReader::read_until(std::string_view delim, std::size_t max) {
  return until(delim, max, false);
}

Task<Result<std::string_view>> BufferedReader::read_line(std::size_t max) {
  return until("\n", max, true);
}

Task<Result<std::string_view>> BufferedReader::until(std::string_view delim, std::size_t max,
                                                     bool line) {
  drop_returned();
  if (delim.empty()) co_return std::errc::invalid_argument;
  const std::size_t d = delim.size();
  const std::size_t slack = d - 1 + (line ? 1 : 0);
  // The record is [0, end) of the unread bytes, with the delimiter at `at`: the content the
  // caller gets (without the terminator for a line) and whether it is within `max`.
  auto content = [&](std::string_view rec, std::size_t at) -> std::size_t {
    return line && at > 0 && rec[at - 1] == '\r' ? at - 1 : at;
  };
  auto result = [&](std::string_view rec, std::size_t at) -> std::string_view {
    return line ? rec.substr(0, content(rec, at)) : rec.substr(0, at + d);
  };
  std::size_t scanned = 0;  // carry_ holds no delimiter starting before this
  for (;;) {
    if (carry_.empty()) {
      const std::string_view v = lease_view();
      if (v.empty()) {
        if (auto ec = co_await fill()) co_return ec;
        continue;
      }
      const std::size_t at = v.find(delim);
      if (at != npos) {  // the whole record is in this buffer: a view into it, no copy
        if (content(v, at) > max) co_return std::errc::message_size;
        lease_used_ = at + d;
        co_return result(v, at);
      }
      if (too_long_without_delim(v.size(), slack, max)) co_return std::errc::message_size;
      spill_lease();  // the record continues in the next buffer
      scanned = carry_.size() - std::min(carry_.size(), d - 1);
      continue;
    }
    // carry_ holds unread bytes (the lease is empty): a partial record, or bytes a previous
    // call left (message_size, end_of_stream, another delimiter).
    const std::string_view c = carry_;
    if (const std::size_t at = c.find(delim, scanned); at != npos) {
      if (content(c, at) > max) co_return std::errc::message_size;
      carry_used_ = at + d;
      co_return result(c, at);
    }
    scanned = c.size() - std::min(c.size(), d - 1);
    if (too_long_without_delim(c.size(), slack, max)) co_return std::errc::message_size;
    if (auto ec = co_await fill()) co_return ec;
    const std::string_view v = lease_view();
    const std::size_t at = find_across(carry_, v, delim);
    if (at != npos) {
      const std::size_t need = at + d - carry_.size();  // >= 1: the delimiter ends in v
      take_from_lease(need);
      const std::string_view rec = carry_;
      if (content(rec, at) > max) {
        // Give the bytes back to the unread data: they are all in carry_ then.
        spill_lease();
        co_return std::errc::message_size;
      }
      carry_used_ = rec.size();
      co_return result(rec, at);
    }
    if (too_long_without_delim(carry_.size() + v.size(), slack, max)) {
      spill_lease();
      co_return std::errc::message_size;
    }
    spill_lease();  // searched already, junction included
    scanned = carry_.size() - std::min(carry_.size(), d - 1);
  }
}

Task<Result<std::string_view>> BufferedReader::read_exact(std::size_t n) {
  drop_returned();
  if (n == 0) co_return std::string_view{};
  for (;;) {
    if (carry_.empty()) {
      const std::string_view v = lease_view();
      if (v.size() >= n) {  // inside this buffer: no copy
        lease_used_ = n;
        co_return v.substr(0, n);
      }
      if (!v.empty()) {
        spill_lease();
        continue;
      }
      if (auto ec = co_await fill()) co_return ec;
      continue;
    }
    if (carry_.size() >= n) {
      carry_used_ = n;
      co_return std::string_view(carry_).substr(0, n);
    }
    if (auto ec = co_await fill()) co_return ec;
    const std::size_t need = n - carry_.size();
    if (lease_view().size() >= need) {
      take_from_lease(need);
      carry_used_ = n;
      co_return std::string_view(carry_);
    }
    spill_lease();
  }
}

Task<Result<std::string_view>> BufferedReader::read_some() {
  drop_returned();
  if (!carry_.empty()) {
    carry_used_ = carry_.size();
    co_return std::string_view(carry_);
  }
  if (lease_view().empty())
    if (auto ec = co_await fill()) co_return ec;
  const std::string_view v = lease_view();
  lease_used_ = v.size();
  co_return v;
}

}  // namespace kio::net
