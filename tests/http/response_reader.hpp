// Test helper: splits a byte stream of HTTP/1.1 responses (Content-Length framed).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kio/http/headers.hpp"

namespace http_test {

struct ParsedResponse {
  unsigned status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string header(std::string_view name) const {
    for (auto& [n, v] : headers)
      if (kio::http::iequals(n, name)) return v;
    return {};
  }
};

/// Parses complete responses from `s`; a HEAD response (index `head_only_index`) has no body.
/// With `allow_partial`, a trailing incomplete response is left out instead of failing.
inline std::vector<ParsedResponse> parse_responses(std::string_view s, int head_only_index = -1,
                                                   bool allow_partial = false) {
  std::vector<ParsedResponse> out;
  while (!s.empty()) {
    std::size_t end = s.find("\r\n\r\n");
    if (end == std::string_view::npos) {
      if (!allow_partial) ADD_FAILURE() << "truncated response: " << s.substr(0, 200);
      break;
    }
    std::string_view head = s.substr(0, end);
    std::string_view rest = s.substr(end + 4);
    ParsedResponse r;
    std::size_t eol = head.find("\r\n");
    std::string_view status_line = head.substr(0, eol);
    EXPECT_EQ(status_line.substr(0, 9), "HTTP/1.1 ");
    r.status = static_cast<unsigned>(std::stoi(std::string(status_line.substr(9, 3))));
    while (eol != std::string_view::npos) {
      head.remove_prefix(eol + 2);
      eol = head.find("\r\n");
      std::string_view line = head.substr(0, eol);
      std::size_t colon = line.find(": ");
      r.headers.emplace_back(line.substr(0, colon), line.substr(colon + 2));
    }
    std::string cl = r.header("Content-Length");
    if (!cl.empty() && static_cast<int>(out.size()) != head_only_index) {
      std::size_t n = std::stoul(cl);
      if (rest.size() < n) {
        if (!allow_partial) ADD_FAILURE() << "truncated body";
        break;
      }
      r.body = rest.substr(0, n);
      rest.remove_prefix(n);
    }
    s = rest;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace http_test
