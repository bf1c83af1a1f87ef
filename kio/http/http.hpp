// kio/http — an HTTP/1.1 server on the per-core runtime.
//
// Choosing among the pieces
// -------------------------
// * kio::http::Server         listeners on every core, keep-alive, pipelining, timeouts,
//                             graceful stop.                                        (server.hpp)
// * kio::http::Router         method + path -> handler, `:param` and `*rest` captures. (router.hpp)
// * Router::static_dir        files from a directory: ranges, 304s, sent without a user-space
//                             copy.                                         (static_files.hpp)
// * kio::http::Handler        `Response(Request&)` (inline fast path) or
//                             `Task<Response>(Request&)`; concept RequestHandler; a
//                             wrong signature is a readable static_assert; or a fixed
//                             Response (head serialised once: the fastest route).   (handler.hpp)
// * kio::http::Request        the parsed request; views into the receive buffer.    (request.hpp)
// * kio::http::Response       status, headers, owned or borrowed body.              (response.hpp)
// * kio::http::RequestParser  the strict incremental parser, usable on its own.     (parser.hpp)
// * kio::http::ServerOptions / Limits   address, timeouts, size limits.   (server_options.hpp)
//
// Example
// -------
//   int main() {
//     kio::http::Router router;
//     router.get("/", [](kio::http::Request&) { return kio::http::Response::text("hi"); });
//     kio::http::Server server(std::move(router), {.address = kio::net::Address::any_v4(8080)});
//     kio::Runtime rt({.stop_on_signals = true});
//     return rt.block_on(server.run()) ? 0 : 1;
//   }
#pragma once

#include "kio/http/handler.hpp"
#include "kio/http/headers.hpp"
#include "kio/http/limits.hpp"
#include "kio/http/method.hpp"
#include "kio/http/parser.hpp"
#include "kio/http/request.hpp"
#include "kio/http/response.hpp"
#include "kio/http/router.hpp"
#include "kio/http/server.hpp"
#include "kio/http/server_options.hpp"
#include "kio/http/static_files.hpp"
#include "kio/http/status.hpp"
